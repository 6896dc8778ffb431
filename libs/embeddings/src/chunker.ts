import { decodeTokens, encodeText } from './tokens.js';

/** One chunk of a document: its text, position and size in tokens (cl100k_base via gpt-tokenizer). */
export interface Chunk {
  index: number;
  text: string;
  tokenCount: number;
}

/**
 * Splits `text` into windows of at most `maxTokens` tokens, each starting `maxTokens - overlapTokens`
 * tokens after the previous one, so neighbouring chunks share `overlapTokens` tokens of context.
 * A text that fits in one window gives one chunk. Tokens are cl100k_base, with special-token strings as plain text
 * and giant runs split (see encodeText).
 * @throws RangeError when overlapTokens >= maxTokens.
 */
export function chunkText(text: string, maxTokens: number, overlapTokens: number): Chunk[] {
  if (overlapTokens >= maxTokens) throw new RangeError(`overlap (${overlapTokens}) must be smaller than the chunk size (${maxTokens})`);
  const tokens = encodeText(text);
  if (tokens.length === 0) return [];
  const stride = maxTokens - overlapTokens;
  const chunks: Chunk[] = [];
  for (let start = 0; ; start += stride) {
    const slice = tokens.slice(start, start + maxTokens);
    chunks.push({ index: chunks.length, text: decodeTokens(slice).trim(), tokenCount: slice.length });
    if (start + maxTokens >= tokens.length) break;
  }
  return chunks;
}
