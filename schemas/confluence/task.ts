import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Long, Date, Json } from "../manifold";
import { ConfluenceSpace } from "./space";

/** Whether a task is done. */
export enum ConfluenceTaskStatus {
  INCOMPLETE = "INCOMPLETE",
  COMPLETE = "COMPLETE",
}

export interface ConfluenceTaskManifest extends Manifest {
  owner: Team.CONFLUENCE_COLLABORATION;
  status: EntityState.ACTIVE;
}

/** An action item (task list entry) in a page, blog post or comment. */
export interface ConfluenceTask extends Entity {
  /** The numeric task id. */
  taskId: Long;
  /** The space the containing content lives in. */
  space: ComposedBy<ConfluenceSpace>;
  /** The page, blog post or comment that contains the task. */
  container: ARI;
  /** Incomplete or complete. */
  status: ConfluenceTaskStatus;
  /** The task text as an Atlassian Document Format fragment. */
  body: Json;
  /**
   * The user who created the task.
   * @pii
   */
  createdBy: ARI;
  /**
   * The user the task is assigned to.
   * @pii
   */
  assignee?: ARI;
  /**
   * The user who completed the task.
   * @pii
   */
  completedBy?: ARI;
  /** When the task is due. */
  dueDate?: Date;
  /** When the task was created. */
  createdAt: Timestamp;
  /** When the task was last changed. */
  updatedAt: Timestamp;
  /** When the task was completed. */
  completedAt?: Timestamp;
}

export interface ConfluenceInlineTaskManifest extends Manifest {
  owner: Team.CONFLUENCE_COLLABORATION;
  status: EntityState.DEPRECATED;
  deprecatedSince: "2025-06-01";
  sunset: "2027-06-01";
  replacedBy: ConfluenceTask;
}

/** A task from the legacy inline-task store, keyed by page. Superseded by `ConfluenceTask`. */
export interface ConfluenceInlineTask extends Entity {
  /** The global id of the inline task. */
  globalId: Long;
  /** The page that contains the task. */
  pageId: Long;
  /** Incomplete or complete. */
  status: ConfluenceTaskStatus;
  /** The task text as storage-format markup. */
  body: String;
  /**
   * The user who created the task.
   * @pii
   */
  creator: ARI;
  /**
   * The user the task is assigned to.
   * @pii
   */
  assignee?: ARI;
  /** When the task is due. */
  dueDate?: Date;
  /** When the task was created. */
  createdAt: Timestamp;
}
