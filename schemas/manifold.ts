/**
 * The Manifold schema language: base declarations.
 *
 * Product schemas (`schemas/<product>/*.ts`) import from this file. It is real
 * TypeScript, so `tsc --noEmit` checks every schema and editors complete and
 * underline as usual. The Manifold compiler reads this file too: the members of
 * `Team` are the valid owners, the members of `EntityState` the lifecycle states.
 *
 * Scalars map to protobuf, Arrow and Spark types as follows:
 *
 * | TypeScript            | protobuf                      | table column(s)                          |
 * |-----------------------|-------------------------------|------------------------------------------|
 * | `String` / `string`   | `string`                      | STRING                                   |
 * | `Boolean` / `boolean` | `bool`                        | BOOLEAN                                  |
 * | `Int`                 | `int32`                       | INTEGER                                  |
 * | `Long`                | `int64`                       | LONG                                     |
 * | `Double`              | `double`                      | DOUBLE                                   |
 * | `Timestamp`           | `google.protobuf.Timestamp`   | `<name>_seconds`, `<name>_nanos` → TIMESTAMP |
 * | `Date`                | `string` (ISO `YYYY-MM-DD`)   | DATE                                     |
 * | `ARI`                 | `manifold.v1.ARI`             | `<name>_value` STRING                    |
 * | `Json`                | `string` (JSON text)          | STRING                                   |
 */

/** Marker base of every entity: one replicated resource type, one main table. */
export interface Entity {}

/** Lifecycle of an entity: ACTIVE → DEPRECATED → RETIRED (final). */
export enum EntityState {
  ACTIVE = "ACTIVE",
  DEPRECATED = "DEPRECATED",
  RETIRED = "RETIRED",
}

/** The teams that may own entities. Add a team here before it owns anything. */
export enum Team {
  AVOCADO_QA = "AVOCADO_QA",
  JIRA_ISSUE_EXTRACTION = "JIRA_ISSUE_EXTRACTION",
  JIRA_AGILE = "JIRA_AGILE",
  JIRA_WORK_MANAGEMENT = "JIRA_WORK_MANAGEMENT",
  CONFLUENCE_CONTENT = "CONFLUENCE_CONTENT",
  CONFLUENCE_COLLABORATION = "CONFLUENCE_COLLABORATION",
  OPSGENIE_ALERTING = "OPSGENIE_ALERTING",
  OPSGENIE_ONCALL = "OPSGENIE_ONCALL",
  DATA_PLATFORM = "DATA_PLATFORM",
}

/**
 * Ownership and lifecycle of the entity `<X>`, declared as `interface <X>Manifest extends Manifest`.
 * A DEPRECATED entity also says since when, until when, and what replaces it (or `null`).
 */
export interface Manifest {
  owner: Team;
  status: EntityState;
  /** The date (YYYY-MM-DD) the entity was deprecated. */
  deprecatedSince?: string;
  /** The date (YYYY-MM-DD) after which the entity may be retired. */
  sunset?: string;
  /** The entity that replaces this one, or `null` when nothing does. */
  replacedBy?: Entity | null;
}

/** A parent relation: the field holds the key of the parent entity `T`. */
export interface ComposedBy<T extends Entity> {
  readonly __parent?: T;
}

/** A 32-bit signed integer. */
export type Int = number;
/** A 64-bit signed integer. */
export type Long = number;
/** A 64-bit IEEE float. */
export type Double = number;
/** An instant in UTC with nanosecond precision. */
export type Timestamp = string;
/** A calendar date without a time zone (YYYY-MM-DD). */
export type Date = string;
/** An Atlassian Resource Identifier (`ari:cloud:<product>:<site>:<type>/<id>`). */
export type ARI = string;
/** An arbitrary JSON document, stored as its text. */
export type Json = unknown;
