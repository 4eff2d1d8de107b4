import { Entity, Manifest, EntityState, Team, ARI, Timestamp, Int, Json } from "../manifold";

/** What kind of question was asked, as labelled by the asker or the triage model. */
export enum AvocadoQuestionClassification {
  HOW_TO = "HOW_TO",
  TROUBLESHOOTING = "TROUBLESHOOTING",
  BEST_PRACTICE = "BEST_PRACTICE",
  FEATURE_REQUEST = "FEATURE_REQUEST",
  DISCUSSION = "DISCUSSION",
}

export interface AvocadoQuestionManifest extends Manifest {
  owner: Team.AVOCADO_QA;
  status: EntityState.ACTIVE;
}

/** A question asked in an Avocado Q&A workspace. */
export interface AvocadoQuestion extends Entity {
  /** The ARI of the question. */
  id: ARI;
  /** When the question was asked. */
  createdAt: Timestamp;
  /** The question body as plain text. */
  question: String;
  /** The one-line title of the question. */
  title: String;
  /** When the question, its title or its body last changed. */
  updatedAt: Timestamp;
  /**
   * The user who asked the question.
   * @pii
   */
  author: ARI;
  /** The Q&A workspace the question belongs to. */
  workspace: ARI;
  /** The question body as an Atlassian Document Format document. */
  questionAdf: Json;
  /** Up-votes minus down-votes. */
  voteCount: Int;
  /** Whether one of the answers has been chosen as the accepted answer. */
  chosenAnswer: Boolean;
  /** Whether the asker marked the question as resolved. */
  isResolved: Boolean;
  /** What kind of question this is. */
  classification: AvocadoQuestionClassification;
}
