import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Int, Long, Json } from "../manifold";
import { ConfluenceContentStatus } from "./content";

/** Where on the content a comment is shown. */
export enum ConfluenceCommentType {
  FOOTER = "FOOTER",
  INLINE = "INLINE",
}

/** The resolution state of an inline comment. */
export enum ConfluenceCommentResolution {
  OPEN = "OPEN",
  RESOLVED = "RESOLVED",
  REOPENED = "REOPENED",
  DANGLING = "DANGLING",
}

/** Where an inline comment is anchored in the content. */
export interface ConfluenceInlineAnchor {
  /** The highlighted text. */
  textSelection: String;
  /** Which occurrence of the highlighted text the comment is on, from 0. */
  matchIndex: Int;
  /** The marker reference in the content body. */
  markerRef: String;
  /** Whether the inline comment is open or resolved. */
  resolution: ConfluenceCommentResolution;
}

export interface ConfluenceCommentManifest extends Manifest {
  owner: Team.CONFLUENCE_COLLABORATION;
  status: EntityState.ACTIVE;
}

/** A footer or inline comment on a page or blog post. */
export interface ConfluenceComment extends Entity {
  /** The numeric comment id. */
  commentId: Long;
  /** The page or blog post commented on. */
  container: ARI;
  /** Footer or inline. */
  commentType: ConfluenceCommentType;
  /** The comment replied to; absent for top-level comments. */
  parentCommentId?: Long;
  /** Current, draft, archived or trashed. */
  status: ConfluenceContentStatus;
  /**
   * The user who wrote the comment.
   * @pii
   */
  author: ARI;
  /** The comment body as an Atlassian Document Format document. */
  body: Json;
  /** The anchor of an inline comment; absent for footer comments. */
  inlineAnchor?: ConfluenceInlineAnchor;
  /** When the comment was posted. */
  createdAt: Timestamp;
  /** When the comment was last edited. */
  updatedAt: Timestamp;
}
