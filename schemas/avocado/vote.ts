import { Entity, Manifest, EntityState, Team, ARI, Timestamp } from "../manifold";

/** Which way a vote goes. */
export enum AvocadoVoteDirection {
  UP = "UP",
  DOWN = "DOWN",
}

/** What kind of post a vote is cast on. */
export enum AvocadoVoteTargetType {
  QUESTION = "QUESTION",
  ANSWER = "ANSWER",
}

export interface AvocadoVoteManifest extends Manifest {
  owner: Team.AVOCADO_QA;
  status: EntityState.ACTIVE;
}

/** One user's vote on a question or an answer. */
export interface AvocadoVote extends Entity {
  /** The ARI of the vote. */
  id: ARI;
  /** The question or answer voted on. */
  target: ARI;
  /** Whether the target is a question or an answer. */
  targetType: AvocadoVoteTargetType;
  /**
   * The user who voted.
   * @pii
   */
  voter: ARI;
  /** Up or down. */
  direction: AvocadoVoteDirection;
  /** When the vote was cast or last flipped. */
  createdAt: Timestamp;
}
