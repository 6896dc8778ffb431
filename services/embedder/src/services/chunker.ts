import { decode, encode } from 'gpt-tokenizer';

/** One chunk of a document: its text, position and size in tokens (cl100k_base via gpt-tokenizer). */
export interface Chunk {
  index: number;
  text: string;
  tokenCount: number;
}

/**
 * Splits `text` into windows of at most `maxTokens` tokens, each starting `maxTokens - overlapTokens`
 * tokens after the previous one, so neighbouring chunks share `overlapTokens` tokens of context.
 * A text that fits in one window gives one chunk. Tokens are counted with gpt-tokenizer (cl100k_base).
 * @throws RangeError when overlapTokens >= maxTokens.
 */
export function chunkText(text: string, maxTokens: number, overlapTokens: number): Chunk[] {
  if (overlapTokens >= maxTokens) throw new RangeError(`overlap (${overlapTokens}) must be smaller than the chunk size (${maxTokens})`);
  const tokens = encode(breakLongRuns(text));
  if (tokens.length === 0) return [];
  const stride = maxTokens - overlapTokens;
  const chunks: Chunk[] = [];
  for (let start = 0; ; start += stride) {
    const slice = tokens.slice(start, start + maxTokens);
    chunks.push({ index: chunks.length, text: decode(slice).trim(), tokenCount: slice.length });
    if (start + maxTokens >= tokens.length) break;
  }
  return chunks;
}

/** Longest run of non-space characters passed to the BPE tokenizer in one piece. */
export const MAX_RUN_CHARS = 256;

/**
 * Splits runs of more than MAX_RUN_CHARS non-space characters with spaces. gpt-tokenizer's BPE merge time
 * grows about quadratically with the length of a single pre-tokenized piece (measured here: 20k characters
 * of 'x' take 350 ms, 1M characters take minutes), so a hostile document of one giant "word" would stall
 * the embedder. No natural-language word is that long, so ordinary text is unchanged.
 */
export function breakLongRuns(text: string): string {
  return text.replace(new RegExp(`\\S{${MAX_RUN_CHARS + 1},}`, 'g'), (run) => run.match(new RegExp(`[\\s\\S]{1,${MAX_RUN_CHARS}}`, 'g'))!.join(' '));
}
