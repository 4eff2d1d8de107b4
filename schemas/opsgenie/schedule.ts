import { Entity, Manifest, ComposedBy, EntityState, Team, Timestamp, Int } from "../manifold";
import { OpsgenieRecipient } from "./common";
import { OpsgenieTeam } from "./team";

/** The unit of a rotation's shift length. */
export enum OpsgenieRotationType {
  HOURLY = "HOURLY",
  DAILY = "DAILY",
  WEEKLY = "WEEKLY",
}

/** How a time restriction limits a rotation. */
export enum OpsgenieRestrictionType {
  TIME_OF_DAY = "TIME_OF_DAY",
  WEEKDAY_AND_TIME_OF_DAY = "WEEKDAY_AND_TIME_OF_DAY",
}

/** The hours within which a rotation is on call. */
export interface OpsgenieTimeRestriction {
  /** Time of day, or weekday and time of day. */
  restrictionType: OpsgenieRestrictionType;
  /** The hour the on-call window starts, 0-23. */
  startHour: Int;
  /** The minute the on-call window starts, 0-59. */
  startMinute: Int;
  /** The hour the on-call window ends, 0-23. */
  endHour: Int;
  /** The minute the on-call window ends, 0-59. */
  endMinute: Int;
}

export interface OpsgenieScheduleManifest extends Manifest {
  owner: Team.OPSGENIE_ONCALL;
  status: EntityState.ACTIVE;
}

/** An on-call schedule of a team. */
export interface OpsgenieSchedule extends Entity {
  /** The schedule id (a UUID). */
  scheduleId: String;
  /** The team that owns the schedule. */
  team: ComposedBy<OpsgenieTeam>;
  /** The schedule name. */
  name: String;
  /** What the schedule covers. */
  description?: String;
  /** The IANA time zone of the schedule, e.g. `Australia/Sydney`. */
  timezone: String;
  /** Whether the schedule is enabled. */
  enabled: Boolean;
  /** When the schedule was created. */
  createdAt: Timestamp;
  /** When the schedule was last changed. */
  updatedAt: Timestamp;
}

export interface OpsgenieRotationManifest extends Manifest {
  owner: Team.OPSGENIE_ONCALL;
  status: EntityState.ACTIVE;
}

/** A rotation of a schedule: participants taking turns in shifts of a fixed length. */
export interface OpsgenieRotation extends Entity {
  /** The rotation id (a UUID). */
  rotationId: String;
  /** The schedule the rotation belongs to. */
  schedule: ComposedBy<OpsgenieSchedule>;
  /** The rotation name. */
  name: String;
  /** The unit of the shift length. */
  rotationType: OpsgenieRotationType;
  /** The shift length, in units of `rotationType`. */
  length: Int;
  /** When the rotation starts. */
  startAt: Timestamp;
  /** When the rotation ends; absent when it runs indefinitely. */
  endAt?: Timestamp;
  /** The users, teams or escalations taking turns, in order. */
  participants: OpsgenieRecipient[];
  /** The hours within which the rotation is on call; absent for around the clock. */
  restriction?: OpsgenieTimeRestriction;
}
