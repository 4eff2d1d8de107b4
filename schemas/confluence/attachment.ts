import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Long } from "../manifold";
import { ConfluencePage } from "./page";

export interface ConfluenceAttachmentManifest extends Manifest {
  owner: Team.CONFLUENCE_CONTENT;
  status: EntityState.ACTIVE;
}

/** A file attached to a Confluence page. */
export interface ConfluenceAttachment extends Entity {
  /** The attachment id, e.g. `att123456`. */
  attachmentId: String;
  /** The page the file is attached to. */
  page: ComposedBy<ConfluencePage>;
  /** The file name. */
  fileName: String;
  /** The media type, e.g. `image/png`. */
  mediaType: String;
  /** The file size in bytes. */
  fileSizeBytes: Long;
  /** The id of the file in the media store. */
  fileId: String;
  /** The comment given when uploading. */
  comment?: String;
  /**
   * The user who uploaded the file.
   * @pii
   */
  uploadedBy: ARI;
  /** When the file was uploaded. */
  createdAt: Timestamp;
}
