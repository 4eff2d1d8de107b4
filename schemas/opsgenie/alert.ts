import { Entity, Manifest, EntityState, Team, Timestamp, Int, Long, Json } from "../manifold";
import { OpsgenieRecipient } from "./common";

/** The priority of an alert, P1 (critical) to P5 (informational). */
export enum OpsgenieAlertPriority {
  P1 = "P1",
  P2 = "P2",
  P3 = "P3",
  P4 = "P4",
  P5 = "P5",
}

/** Whether an alert is still open. */
export enum OpsgenieAlertStatus {
  OPEN = "OPEN",
  CLOSED = "CLOSED",
}

/** The integration an alert came in through. */
export interface OpsgenieIntegrationRef {
  /** The integration id (a UUID). */
  integrationId: String;
  /** The integration name. */
  name: String;
  /** The integration type, e.g. `API`, `Datadog`, `Prometheus`. */
  integrationType: String;
}

export interface OpsgenieAlertManifest extends Manifest {
  owner: Team.OPSGENIE_ALERTING;
  status: EntityState.ACTIVE;
}

/** An Opsgenie alert. Duplicates with the same alias are folded into one alert and counted. */
export interface OpsgenieAlert extends Entity {
  /** The alert id (a UUID). */
  alertId: String;
  /** The short numeric id shown to responders. */
  tinyId: String;
  /** The deduplication alias. */
  alias: String;
  /** The alert message; integrations template it, e.g. `{{ host }} is down`. */
  message: String;
  /** The longer description of the alert. */
  description?: String;
  /** P1 to P5. */
  priority: OpsgenieAlertPriority;
  /** Open or closed. */
  status: OpsgenieAlertStatus;
  /** Whether a responder has acknowledged the alert. */
  acknowledged: Boolean;
  /** Whether the alert is snoozed. */
  snoozed: Boolean;
  /** How many times the alert has occurred (deduplication count). */
  count: Int;
  /** The tags on the alert. */
  tags: String[];
  /** The custom actions available on the alert. */
  actions: String[];
  /** The teams, users, schedules and escalations the alert is routed to. */
  responders: OpsgenieRecipient[];
  /** The source of the alert, e.g. a host name. */
  source: String;
  /** The integration the alert came in through. */
  integration?: OpsgenieIntegrationRef;
  /** The key-value details of the alert, as JSON. */
  details: Json;
  /** How long it took to acknowledge the alert, in milliseconds. */
  ackTimeMillis?: Long;
  /** When the alert was acknowledged. */
  acknowledgedAt?: Timestamp;
  /** When the alert was closed. */
  closedAt?: Timestamp;
  /** When the alert last occurred. */
  lastOccurredAt: Timestamp;
  /** When the alert was created. */
  createdAt: Timestamp;
  /** When the alert was last updated. */
  updatedAt: Timestamp;
}
