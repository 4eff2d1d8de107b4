import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Int, Long, Double, Date, Json } from "../manifold";
import { JiraProject, JiraIssueType } from "./project";

/** The status category of an issue. */
export enum JiraIssueStatus {
  TODO = "TODO",
  IN_PROGRESS = "IN_PROGRESS",
  IN_REVIEW = "IN_REVIEW",
  DONE = "DONE",
}

/** How urgent an issue is. */
export enum JiraIssuePriority {
  HIGHEST = "HIGHEST",
  HIGH = "HIGH",
  MEDIUM = "MEDIUM",
  LOW = "LOW",
  LOWEST = "LOWEST",
}

/** The schema type of a custom field value. */
export enum JiraFieldSchemaType {
  STRING = "STRING",
  NUMBER = "NUMBER",
  DATE = "DATE",
  DATETIME = "DATETIME",
  USER = "USER",
  OPTION = "OPTION",
  ARRAY = "ARRAY",
}

/** The value of one custom field on an issue. */
export interface JiraIssueField {
  /** The field id, e.g. `customfield_10020`. */
  fieldId: String;
  /** The field name as shown to users. */
  name: String;
  /** The schema type of the value. */
  schemaType: JiraFieldSchemaType;
  /** The value as JSON, absent when the field is empty. */
  value?: Json;
}

export interface JiraIssueManifest extends Manifest {
  owner: Team.JIRA_ISSUE_EXTRACTION;
  status: EntityState.ACTIVE;
}

/** A Jira issue (work item). */
export interface JiraIssue extends Entity {
  /** The numeric issue id, as a string. */
  issueId: String;
  /** The human-readable issue key, e.g. `PROJ-123`. Changes when the issue moves project. */
  issueKey: String;
  /** The project the issue belongs to. */
  project: ComposedBy<JiraProject>;
  /** The custom field values of the issue. */
  fields: JiraIssueField[];
  /** The work type of the issue. */
  issueType: JiraIssueType;
  /** The one-line summary. */
  summary?: String;
  /** The description as an Atlassian Document Format document. */
  description?: Json;
  /** The status category of the issue. */
  status: JiraIssueStatus;
  /** How urgent the issue is. */
  priority: JiraIssuePriority;
  /**
   * The user the issue is assigned to; absent when unassigned.
   * @pii
   */
  assignee?: ARI;
  /**
   * The user who reported the issue.
   * @pii
   */
  reporter: ARI;
  /** The labels of the issue. */
  labels: String[];
  /** The sprints the issue has been in. */
  sprintIds: Int[];
  /** The fix versions of the issue. */
  fixVersionIds: Long[];
  /** The story point estimate. */
  storyPoints?: Double;
  /** When the issue is due. */
  dueDate?: Date;
  /** When the issue was resolved; absent while unresolved. */
  resolutionAt?: Timestamp;
  /** When the issue was created. */
  createdAt: Timestamp;
  /** When the issue was last updated. */
  updatedAt: Timestamp;
  /**
   * The workflow status name before status categories were introduced.
   * @deprecated use status
   */
  legacyStatus?: String;
}
