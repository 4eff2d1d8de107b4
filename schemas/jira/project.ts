import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Long } from "../manifold";

/** The product template a project was created from. */
export enum JiraProjectType {
  SOFTWARE = "SOFTWARE",
  BUSINESS = "BUSINESS",
  SERVICE_DESK = "SERVICE_DESK",
  PRODUCT_DISCOVERY = "PRODUCT_DISCOVERY",
}

/** Who administers the project's configuration. */
export enum JiraProjectStyle {
  COMPANY_MANAGED = "COMPANY_MANAGED",
  TEAM_MANAGED = "TEAM_MANAGED",
}

/** The work types an issue can have. */
export enum JiraIssueType {
  EPIC = "EPIC",
  STORY = "STORY",
  TASK = "TASK",
  BUG = "BUG",
  SUBTASK = "SUBTASK",
}

export interface JiraProjectManifest extends Manifest {
  owner: Team.JIRA_WORK_MANAGEMENT;
  status: EntityState.ACTIVE;
}

/** A Jira project: the container of issues, versions and project settings. */
export interface JiraProject extends Entity {
  /** The short, human-readable project key, e.g. `PROJ`. It can be renamed, so it is not the entity key. */
  projectKey: String;
  /**
   * The numeric project id, stable across key renames.
   * @key
   */
  projectId: Long;
  /** The project name. */
  name: String;
  /** The project description. */
  description?: String;
  /**
   * The project lead.
   * @pii
   */
  lead: ARI;
  /** The product template of the project. */
  projectType: JiraProjectType;
  /** Company-managed or team-managed. */
  style: JiraProjectStyle;
  /** The issue types enabled in the project. */
  issueTypes: JiraIssueType[];
  /** Whether the project has been archived. */
  isArchived: Boolean;
  /** When the project was created. */
  createdAt: Timestamp;
}
