/**
 * What the semantic scores need of an embeddings client: structurally the `EmbeddingsClient` of @llmgov/embeddings (an
 * adapter this util lib may not import, ADR 0004), so the judge passes its client as is.
 */
export interface SentenceEmbedder {
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<{ vectors: ArrayLike<number>[] }>;
}

/**
 * Semantic support of an answer by its context, on a sentence embedding model (the platform's all-MiniLM-L6-v2 in the
 * real-model stack): each answer sentence is compared with every context sentence, in the manner of sentence-level
 * NLI/similarity groundedness checks (SummaC, Laban et al. 2022, uses the same max-over-context-sentences then
 * mean-over-answer-sentences aggregation, with an NLI model instead of cosine similarity).
 */

/** At most this many context sentences are embedded per completion (the first ones, in rank order); bounds the call. */
export const MAX_CONTEXT_SENTENCES = 96;
/** At most this many answer sentences are scored (the first ones). */
export const MAX_ANSWER_SENTENCES = 16;

/**
 * Sentences of `text`: split after `.`, `!` or `?` followed by white space, and at line breaks; trimmed; empty pieces
 * dropped. A simple rule (abbreviations such as "Dr. Smith" split too); good enough for scoring, where a split
 * sentence is still compared against every context sentence.
 */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/u)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Cosine similarity of two vectors of equal length; 0 when either is the zero vector. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface SemanticScores {
  /** Mean over answer sentences of the best cosine to a context sentence, negatives clamped to 0 (0..1). */
  support: number;
  /** Cosine of the prompt and the whole answer, clamped to 0..1. */
  relevance: number;
}

/**
 * Semantic support and relevance in one embeddings call (`[prompt, answer, ...answer sentences, ...context sentences]`).
 * @returns null when the answer has no sentence or the context none (nothing to compare).
 * @throws whatever the client throws (EmbeddingsError for an unreachable or failing server); callers degrade to the
 *   lexical scores.
 */
export async function semanticScores(
  client: SentenceEmbedder,
  prompt: string,
  answer: string,
  contextTexts: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<SemanticScores | null> {
  const answerSentences = splitSentences(answer).slice(0, MAX_ANSWER_SENTENCES);
  const contextSentences = contextTexts.flatMap(splitSentences).slice(0, MAX_CONTEXT_SENTENCES);
  if (answerSentences.length === 0 || contextSentences.length === 0) return null;
  const { vectors } = await client.embed([prompt, answer, ...answerSentences, ...contextSentences], options.signal ? { signal: options.signal } : {});
  const at = (i: number) => vectors[i]!;
  const first = 2 + answerSentences.length;
  let total = 0;
  for (let a = 0; a < answerSentences.length; a++) {
    let best = 0;
    for (let c = 0; c < contextSentences.length; c++) best = Math.max(best, cosine(at(2 + a), at(first + c)));
    total += best;
  }
  const round = (x: number) => Math.round(Math.min(1, Math.max(0, x)) * 10_000) / 10_000;
  return { support: round(total / answerSentences.length), relevance: round(cosine(at(0), at(1))) };
}
