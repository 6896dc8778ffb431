import { decode, encode } from 'gpt-tokenizer';

/** Options that make gpt-tokenizer treat special-token strings (`<|endoftext|>`, `<|im_start|>`...) as plain text. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Longest run of non-space characters passed to the BPE tokenizer in one piece. */
export const MAX_RUN_CHARS = 256;

/**
 * Splits runs of more than MAX_RUN_CHARS non-space characters with spaces. gpt-tokenizer's BPE merge time
 * grows about quadratically with the length of a single pre-tokenized piece (measured here: 20k characters
 * of 'x' take 350 ms, 1M characters take minutes), so a hostile text of one giant "word" would stall the
 * caller. No natural-language word is that long, so ordinary text is unchanged.
 */
export function breakLongRuns(text: string): string {
  return text.replace(new RegExp(`\\S{${MAX_RUN_CHARS + 1},}`, 'g'), (run) => run.match(new RegExp(`[\\s\\S]{1,${MAX_RUN_CHARS}}`, 'g'))!.join(' '));
}

/**
 * cl100k_base token ids of user text (gpt-tokenizer). User text is data: special-token strings in it are encoded as
 * the plain characters they are, never as control tokens, and never make the tokenizer throw (its default does).
 * Giant runs are split first (see breakLongRuns), so the result for such runs is an estimate.
 */
export function encodeText(text: string): number[] {
  return text.length === 0 ? [] : encode(breakLongRuns(text), PLAIN_TEXT);
}

/** Number of cl100k_base tokens of user text (see encodeText). */
export function countTokens(text: string): number {
  return encodeText(text).length;
}

/** Text of cl100k_base token ids (the inverse of encodeText for ordinary text). */
export function decodeTokens(ids: readonly number[]): string {
  return decode(ids);
}
