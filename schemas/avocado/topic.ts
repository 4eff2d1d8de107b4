import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Int } from "../manifold";

export interface AvocadoTopicManifest extends Manifest {
  owner: Team.AVOCADO_QA;
  status: EntityState.ACTIVE;
}

/** A topic that questions are filed under and that users can follow. */
export interface AvocadoTopic extends Entity {
  /** The ARI of the topic. */
  id: ARI;
  /** The display name of the topic. */
  name: String;
  /** What the topic covers. */
  description?: String;
  /** The Q&A workspace the topic belongs to. */
  workspace: ARI;
  /** How many questions are filed under the topic. */
  questionCount: Int;
  /** The users who follow the topic. */
  followers: ARI[];
  /** When the topic was created. */
  createdAt: Timestamp;
}
