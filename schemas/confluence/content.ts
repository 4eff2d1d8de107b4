import { ARI, Timestamp, Int } from "../manifold";

/** The lifecycle status of a page, blog post or comment. */
export enum ConfluenceContentStatus {
  CURRENT = "CURRENT",
  DRAFT = "DRAFT",
  ARCHIVED = "ARCHIVED",
  TRASHED = "TRASHED",
}

/** One published version of a piece of content. */
export interface ConfluenceVersion {
  /** The version number, starting at 1. */
  versionNumber: Int;
  /** The edit message given when publishing. */
  message?: string;
  /** Whether the edit was marked as minor (no watcher notifications). */
  minorEdit: Boolean;
  /**
   * The user who published the version.
   * @pii
   */
  author: ARI;
  /** When the version was published. */
  createdAt: Timestamp;
}
