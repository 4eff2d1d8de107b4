import { Entity, Manifest, ComposedBy, EntityState, Team, Timestamp, Int, Double } from "../manifold";
import { JiraBoard } from "./board";

/** Where a sprint is in its life. */
export enum JiraSprintState {
  FUTURE = "FUTURE",
  ACTIVE = "ACTIVE",
  CLOSED = "CLOSED",
}

export interface JiraSprintManifest extends Manifest {
  owner: Team.JIRA_AGILE;
  status: EntityState.ACTIVE;
}

/** A time-boxed iteration of a Scrum board. */
export interface JiraSprint extends Entity {
  /** The numeric sprint id. */
  sprintId: Int;
  /** The board the sprint was created on. */
  board: ComposedBy<JiraBoard>;
  /** The sprint name, e.g. `Sprint 42`. */
  name: String;
  /** What the team means to achieve in the sprint. */
  goal?: String;
  /** Future, active or closed. */
  state: JiraSprintState;
  /** When the sprint was started. */
  startAt?: Timestamp;
  /** When the sprint is planned to end. */
  endAt?: Timestamp;
  /** When the sprint was actually completed. */
  completedAt?: Timestamp;
  /** The story points committed when the sprint started. */
  committedPoints?: Double;
  /** The story points completed by the end of the sprint. */
  completedPoints?: Double;
}
