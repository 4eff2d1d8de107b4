import { Entity, Manifest, ComposedBy, EntityState, Team, ARI, Timestamp, Int, Json } from "../manifold";
import { AvocadoQuestion } from "./question";

export interface AvocadoAnswerManifest extends Manifest {
  owner: Team.AVOCADO_QA;
  status: EntityState.ACTIVE;
}

/** An answer to an Avocado question. */
export interface AvocadoAnswer extends Entity {
  /** The ARI of the answer. */
  id: ARI;
  /** The question this answers. */
  question: ComposedBy<AvocadoQuestion>;
  /** When the answer was posted. */
  createdAt: Timestamp;
  /** When the answer was last edited. */
  updatedAt: Timestamp;
  /**
   * The user who wrote the answer.
   * @pii
   */
  author: ARI;
  /** The answer body as plain text. */
  answer: String;
  /** The answer body as an Atlassian Document Format document. */
  answerAdf: Json;
  /** Up-votes minus down-votes. */
  voteCount: Int;
  /** Whether the asker chose this as the accepted answer. */
  isAccepted: Boolean;
  /** When the answer was accepted, if it was. */
  acceptedAt?: Timestamp;
}
