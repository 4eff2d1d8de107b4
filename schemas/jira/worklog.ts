import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Long, Json } from "../manifold";
import { JiraIssue } from "./issue";

export interface JiraWorklogManifest extends Manifest {
  owner: Team.JIRA_WORK_MANAGEMENT;
  status: EntityState.ACTIVE;
}

/** Time logged against a Jira issue. */
export interface JiraWorklog extends Entity {
  /** The numeric worklog id, as a string. */
  worklogId: String;
  /** The issue the time was logged on. */
  issue: ComposedBy<JiraIssue>;
  /**
   * The user who logged the time.
   * @pii
   */
  author: ARI;
  /** What the time was spent on, as an Atlassian Document Format document. */
  comment?: Json;
  /** When the work started. */
  startedAt: Timestamp;
  /** How long the work took, in seconds. */
  timeSpentSeconds: Long;
  /** When the worklog was recorded. */
  createdAt: Timestamp;
  /** When the worklog was last edited. */
  updatedAt: Timestamp;
}
