import { Entity, Manifest, ComposedBy, EntityState, Team, Date, Long } from "../manifold";
import { JiraProject } from "./project";

export interface JiraVersionManifest extends Manifest {
  owner: Team.JIRA_WORK_MANAGEMENT;
  status: EntityState.ACTIVE;
}

/** A release (fix version) of a project. */
export interface JiraVersion extends Entity {
  /** The numeric version id. */
  versionId: Long;
  /** The project the version belongs to. */
  project: ComposedBy<JiraProject>;
  /** The version name, e.g. `2024.3`. */
  name: String;
  /** What the release contains. */
  description?: String;
  /** The planned start of work on the release. */
  startDate?: Date;
  /** The planned or actual release date. */
  releaseDate?: Date;
  /** Whether the version has been released. */
  released: Boolean;
  /** Whether the version has been archived. */
  archived: Boolean;
}
