import { completeness, isRefusal } from './checks.js';
import { claimSupport, relevance as lexicalRelevance } from './lexical.js';
import { semanticScores, type SentenceEmbedder } from './semantic.js';

/**
 * How the judge combines its scores into one quality figure, and the bar a PASS needs. Calibrated by
 * `npm run bench:judge` (tools/bench-judge) on one split of labelled SQuAD answers; `version` names the rules and
 * weights together and travels in every judged event as `judge_version`.
 */
export interface JudgeWeights {
  /** Version of the rules and weights, e.g. `judge-2026.11-1`. */
  version: string;
  /** Share of semantic support in faithfulness (0..1); the rest is lexical support. Ignored without semantic scores. */
  semantic_share: number;
  /** Weights of faithfulness, relevance and completeness in the quality score; they sum to 1. */
  w_faithfulness: number;
  w_relevance: number;
  w_completeness: number;
  /** Quality (0..1) at or above which an answer passes. */
  threshold: number;
}

/**
 * The weights in force: set a priori (faithfulness first, relevance and completeness as tie-breakers, bar 0.5), NOT the
 * bench's calibrated ones. `npm run bench:judge` (bench/results/judge.json, bench/README.md "Judge") calibrated weights on
 * one split of 240 real small-model answers with only 23 correct ones, and they did not carry over to the other split
 * (held-out kappa -0.06 and 0.20 in the two folds), so they would not be an improvement to ship.
 */
export const DEFAULT_JUDGE_WEIGHTS: JudgeWeights = {
  version: 'judge-2026.11-1',
  semantic_share: 0.5,
  w_faithfulness: 0.6,
  w_relevance: 0.2,
  w_completeness: 0.2,
  threshold: 0.5,
};

/** The cheap checks' scores of one completion, all 0..1 (unit-less). */
export interface CompletionScores {
  /** Lexical support: share of the content tokens the answer adds to the question that occur in the context (`claimSupport`). */
  lexical: number;
  /** Semantic support on embeddings; null when not computed (no client, nothing to compare, or the client failed). */
  semantic: number | null;
  /** The LLM judge's P(yes) to "is the answer supported by the context?"; null when not sampled or not available. */
  llm: number | null;
  /** Faithfulness: lexical and semantic support mixed by `semantic_share` (lexical alone without semantic), then averaged with `llm` when there is one (an a-priori equal weight, not calibrated yet). */
  faithfulness: number;
  /** Relevance: the larger of the lexical prompt-term recall and the prompt-answer cosine (when available). */
  relevance: number;
  /** Completeness ({@link completeness}). */
  completeness: number;
  /** The model declined or said the context lacks the answer. */
  refusal: boolean;
  /** Weighted quality the verdict compares with the threshold. */
  quality: number;
}

export interface ScoreInput {
  prompt: string;
  answer: string;
  contextTexts: readonly string[];
  finishReason: string;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Faithfulness and quality from the raw scores under `w` (pure; the calibration re-weights recorded raw scores with it). */
export function combineScores(
  raw: Pick<CompletionScores, 'lexical' | 'semantic' | 'relevance' | 'completeness' | 'refusal'> & { llm?: number | null },
  w: JudgeWeights,
): CompletionScores {
  const cheap = raw.semantic === null ? raw.lexical : (1 - w.semantic_share) * raw.lexical + w.semantic_share * raw.semantic;
  const llm = raw.llm ?? null;
  const faithfulness = round4(llm === null ? cheap : (cheap + llm) / 2);
  const quality = round4(w.w_faithfulness * faithfulness + w.w_relevance * raw.relevance + w.w_completeness * raw.completeness);
  return { ...raw, llm, faithfulness, quality };
}

/**
 * All cheap scores of one completion. The semantic scores come from `client` when given; a failing client is reported
 * through `onSemanticError` and the scores fall back to lexical only (the judge never fails a job on the embeddings server).
 */
export async function scoreCompletion(
  input: ScoreInput,
  w: JudgeWeights,
  client?: SentenceEmbedder,
  onSemanticError?: (err: unknown) => void,
): Promise<CompletionScores> {
  const lexical = claimSupport(input.answer, input.prompt, input.contextTexts);
  const lexRel = lexicalRelevance(input.prompt, input.answer);
  let semantic: number | null = null;
  let relevance = lexRel;
  if (client) {
    try {
      const s = await semanticScores(client, input.prompt, input.answer, input.contextTexts);
      if (s) {
        semantic = s.support;
        relevance = Math.max(lexRel, s.relevance);
      }
    } catch (err) {
      onSemanticError?.(err);
    }
  }
  return combineScores(
    { lexical, semantic, relevance, completeness: completeness(input.prompt, input.answer, input.finishReason), refusal: isRefusal(input.answer) },
    w,
  );
}
