import { Entity, Manifest, EntityState, Team, ARI, Timestamp } from "../manifold";

/** A member's role in an Opsgenie team. */
export enum OpsgenieTeamRole {
  ADMIN = "ADMIN",
  USER = "USER",
}

/** One member of an Opsgenie team. */
export interface OpsgenieTeamMember {
  /**
   * The member.
   * @pii
   */
  user: ARI;
  /** The member's role in the team. */
  role: OpsgenieTeamRole;
}

export interface OpsgenieTeamManifest extends Manifest {
  owner: Team.OPSGENIE_ONCALL;
  status: EntityState.ACTIVE;
}

/** An Opsgenie team: the owner of schedules, escalations and routing rules. */
export interface OpsgenieTeam extends Entity {
  /** The team id (a UUID). */
  teamId: String;
  /** The team name. */
  name: String;
  /** What the team is responsible for. */
  description?: String;
  /** The members of the team. */
  members: OpsgenieTeamMember[];
  /** When the team was created. */
  createdAt: Timestamp;
}
