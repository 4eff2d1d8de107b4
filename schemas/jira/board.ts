import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Long } from "../manifold";

/** How a board plans work. */
export enum JiraBoardType {
  SCRUM = "SCRUM",
  KANBAN = "KANBAN",
}

export interface JiraBoardManifest extends Manifest {
  owner: Team.JIRA_AGILE;
  status: EntityState.ACTIVE;
}

/** A Scrum or Kanban board showing the issues of a saved filter. */
export interface JiraBoard extends Entity {
  /** The numeric board id. */
  boardId: Long;
  /** The board name. */
  name: String;
  /** Scrum or Kanban. */
  boardType: JiraBoardType;
  /** The project or user the board is located in. */
  location: ARI;
  /** The saved filter that selects the board's issues. */
  filterId: Long;
  /** When the board was created. */
  createdAt: Timestamp;
}
