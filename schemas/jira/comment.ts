import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Json } from "../manifold";
import { JiraIssue } from "./issue";

/** Who a restricted comment is visible to. */
export enum JiraCommentVisibilityType {
  GROUP = "GROUP",
  ROLE = "ROLE",
}

/** The restriction on who may see a comment. */
export interface JiraCommentVisibility {
  /** Whether `value` names a group or a project role. */
  visibilityType: JiraCommentVisibilityType;
  /** The group or project role name. */
  value: String;
}

export interface JiraCommentManifest extends Manifest {
  owner: Team.JIRA_ISSUE_EXTRACTION;
  status: EntityState.ACTIVE;
}

/** A comment on a Jira issue. */
export interface JiraComment extends Entity {
  /** The numeric comment id, as a string. */
  commentId: String;
  /** The issue commented on. */
  issue: ComposedBy<JiraIssue>;
  /**
   * The user who wrote the comment.
   * @pii
   */
  author: ARI;
  /**
   * The user who last edited the comment.
   * @pii
   */
  updateAuthor?: ARI;
  /** The comment body as an Atlassian Document Format document. */
  body: Json;
  /** The restriction on who may see the comment; absent when anyone with issue access may. */
  visibility?: JiraCommentVisibility;
  /** For service projects: whether the customer sees the comment (false for internal notes). */
  isPublic: boolean;
  /** When the comment was posted. */
  createdAt: Timestamp;
  /** When the comment was last edited. */
  updatedAt: Timestamp;
}
