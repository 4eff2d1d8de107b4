import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Long } from "../manifold";

/** The kind of a space. */
export enum ConfluenceSpaceType {
  GLOBAL = "GLOBAL",
  PERSONAL = "PERSONAL",
  COLLABORATION = "COLLABORATION",
  KNOWLEDGE_BASE = "KNOWLEDGE_BASE",
}

/** Whether a space is in use. */
export enum ConfluenceSpaceStatus {
  CURRENT = "CURRENT",
  ARCHIVED = "ARCHIVED",
}

export interface ConfluenceSpaceManifest extends Manifest {
  owner: Team.CONFLUENCE_CONTENT;
  status: EntityState.ACTIVE;
}

/** A Confluence space: the container of pages and blog posts. */
export interface ConfluenceSpace extends Entity {
  /** The space key, e.g. `ENG`. It can be changed, so it is not the entity key. */
  spaceKey: String;
  /**
   * The numeric space id.
   * @key
   */
  spaceId: Long;
  /** The space name. */
  name: String;
  /** What the space is for, in plain text. */
  description?: String;
  /** The kind of space. */
  spaceType: ConfluenceSpaceType;
  /** Current or archived. */
  spaceStatus: ConfluenceSpaceStatus;
  /** The id of the space's home page. */
  homepageId?: Long;
  /** The space categories (labels on the space itself). */
  categories: String[];
  /**
   * The user who created the space.
   * @pii
   */
  createdBy: ARI;
  /** When the space was created. */
  createdAt: Timestamp;
}
