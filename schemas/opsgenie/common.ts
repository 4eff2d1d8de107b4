import { ARI } from "../manifold";

/** What kind of party a recipient is. */
export enum OpsgenieRecipientType {
  USER = "USER",
  TEAM = "TEAM",
  SCHEDULE = "SCHEDULE",
  ESCALATION = "ESCALATION",
}

/** A party that can be notified: a user, team, schedule or escalation. */
export interface OpsgenieRecipient {
  /** What kind of party this is. */
  recipientType: OpsgenieRecipientType;
  /** The ARI of the user, team, schedule or escalation. */
  recipient: ARI;
  /** The display name at the time of the change. */
  name?: String;
}
