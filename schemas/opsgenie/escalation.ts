import { Entity, Manifest, ComposedBy, EntityState, Team, Timestamp, Int } from "../manifold";
import { OpsgenieRecipient } from "./common";
import { OpsgenieTeam } from "./team";

/** When an escalation rule fires. */
export enum OpsgenieEscalationCondition {
  IF_NOT_ACKED = "IF_NOT_ACKED",
  IF_NOT_CLOSED = "IF_NOT_CLOSED",
}

/** Whom in the recipient an escalation rule notifies. */
export enum OpsgenieNotifyType {
  DEFAULT = "DEFAULT",
  NEXT = "NEXT",
  PREVIOUS = "PREVIOUS",
  USERS = "USERS",
  ADMINS = "ADMINS",
  ALL = "ALL",
}

/** One step of an escalation policy. */
export interface OpsgenieEscalationRule {
  /** When the rule fires. */
  condition: OpsgenieEscalationCondition;
  /** Whom in the recipient to notify. */
  notifyType: OpsgenieNotifyType;
  /** Minutes after the alert was created before the rule fires. */
  delayMinutes: Int;
  /** Who is notified. */
  recipient: OpsgenieRecipient;
}

/** How an escalation repeats once all its rules have fired. */
export interface OpsgenieEscalationRepeat {
  /** Minutes to wait before repeating. */
  waitIntervalMinutes: Int;
  /** How many times to repeat. */
  count: Int;
  /** Whether recipients' acknowledgement states are reset on repeat. */
  resetRecipientStates: Boolean;
  /** Whether the alert is closed after the last repeat. */
  closeAlertAfterAll: Boolean;
}

export interface OpsgenieEscalationManifest extends Manifest {
  owner: Team.OPSGENIE_ONCALL;
  status: EntityState.ACTIVE;
}

/** An escalation policy of a team. */
export interface OpsgenieEscalation extends Entity {
  /** The escalation id (a UUID). */
  escalationId: String;
  /** The team that owns the escalation. */
  team: ComposedBy<OpsgenieTeam>;
  /** The escalation name. */
  name: String;
  /** What the escalation is for. */
  description?: String;
  /** The steps of the escalation, in order. */
  rules: OpsgenieEscalationRule[];
  /** How the escalation repeats; absent when it does not. */
  repeat?: OpsgenieEscalationRepeat;
  /** When the escalation was created. */
  createdAt: Timestamp;
  /** When the escalation was last changed. */
  updatedAt: Timestamp;
}
