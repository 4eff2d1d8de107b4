import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Long, Json } from "../manifold";
import { ConfluenceContentStatus, ConfluenceVersion } from "./content";
import { ConfluenceSpace } from "./space";

export interface ConfluenceBlogPostManifest extends Manifest {
  owner: Team.CONFLUENCE_CONTENT;
  status: EntityState.ACTIVE;
}

/** A blog post in a Confluence space. */
export interface ConfluenceBlogPost extends Entity {
  /** The numeric blog post id. */
  blogPostId: Long;
  /** The space the blog post was published in. */
  space: ComposedBy<ConfluenceSpace>;
  /** The blog post title. */
  title: String;
  /** Current, draft, archived or trashed. */
  status: ConfluenceContentStatus;
  /**
   * The user who wrote the blog post.
   * @pii
   */
  author: ARI;
  /** The blog post body as an Atlassian Document Format document. */
  body: Json;
  /** The labels on the blog post. */
  labels: String[];
  /** The current published version. */
  version: ConfluenceVersion;
  /** When the blog post was first published; absent while a draft. */
  publishedAt?: Timestamp;
  /** When the blog post was created. */
  createdAt: Timestamp;
}
