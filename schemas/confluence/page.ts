import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Int, Long, Json } from "../manifold";
import { ConfluenceContentStatus, ConfluenceVersion } from "./content";
import { ConfluenceSpace } from "./space";

export interface ConfluencePageManifest extends Manifest {
  owner: Team.CONFLUENCE_CONTENT;
  status: EntityState.ACTIVE;
}

/** A page in a Confluence space. */
export interface ConfluencePage extends Entity {
  /** The numeric page id. */
  pageId: Long;
  /** The space the page lives in. */
  space: ComposedBy<ConfluenceSpace>;
  /** The page title. */
  title: String;
  /** Current, draft, archived or trashed. */
  status: ConfluenceContentStatus;
  /** The id of the parent page in the page tree; absent for top-level pages. */
  parentPageId?: Long;
  /** The position among its siblings in the page tree. */
  position?: Int;
  /**
   * The user who created the page.
   * @pii
   */
  author: ARI;
  /** The page body as an Atlassian Document Format document. */
  body: Json;
  /** The labels on the page. */
  labels: String[];
  /** The current published version. */
  version: ConfluenceVersion;
  /** When the page was created. */
  createdAt: Timestamp;
}
