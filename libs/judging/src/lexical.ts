/**
 * Cheap deterministic quality checks of the judge (no model call). Both scores are lexical-overlap
 * proxies in the spirit of the token-overlap metrics used for extractive QA (SQuAD's token F1,
 * Rajpurkar et al. 2016): they cannot see paraphrase or negation, so they are a floor for an
 * LLM-as-judge pass, not a replacement.
 *
 * Tokenisation (`contentTokens`): Unicode NFKC, lower-cased; a token is a maximal run of letters,
 * combining marks and digits (`[\p{L}\p{N}][\p{L}\p{M}\p{N}]*`), so punctuation, markup, SQL and control
 * characters never form tokens. Stop words (`STOP_WORDS`) and one-letter words are dropped; numbers are
 * kept, including single digits, because years, counts and amounts are what an answer is most often
 * wrong about. Scores use distinct tokens (types): repeating a word neither raises nor lowers them.
 */

/** A small English stop-word list: function words that carry no evidence of grounding. */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'about',
  'after',
  'all',
  'also',
  'an',
  'and',
  'any',
  'are',
  'as',
  'at',
  'be',
  'been',
  'before',
  'being',
  'both',
  'but',
  'by',
  'can',
  'could',
  'did',
  'do',
  'does',
  'during',
  'each',
  'for',
  'from',
  'had',
  'has',
  'have',
  'he',
  'her',
  'hers',
  'him',
  'his',
  'how',
  'i',
  'if',
  'in',
  'into',
  'is',
  'it',
  'its',
  'just',
  'me',
  'more',
  'most',
  'my',
  'no',
  'nor',
  'not',
  'of',
  'on',
  'once',
  'only',
  'or',
  'other',
  'our',
  'out',
  'over',
  'own',
  'same',
  'she',
  'should',
  'so',
  'some',
  'such',
  'than',
  'that',
  'the',
  'their',
  'them',
  'then',
  'there',
  'these',
  'they',
  'this',
  'those',
  'through',
  'to',
  'too',
  'under',
  'until',
  'up',
  'very',
  'was',
  'we',
  'were',
  'what',
  'when',
  'where',
  'which',
  'while',
  'who',
  'whom',
  'why',
  'will',
  'with',
  'would',
  'you',
  'your',
]);

const TOKEN_RE = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;
const DIGITS_RE = /^\p{N}+$/u;

/** Distinct content tokens of `text` (see the module comment for the rules). Empty for empty or symbol-only text. */
export function contentTokens(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(TOKEN_RE)) {
    const token = m[0];
    if (STOP_WORDS.has(token)) continue;
    if (token.length === 1 && !DIGITS_RE.test(token)) continue;
    out.add(token);
  }
  return out;
}

/** |A ∩ B| / |A| for non-empty A; 0 when A is empty. Rounded to 4 decimals so events and logs stay readable. */
function coverage(a: Set<string>, b: Set<string>): number {
  if (a.size === 0) return 0;
  let hit = 0;
  for (const t of a) if (b.has(t)) hit++;
  return Math.round((hit / a.size) * 10_000) / 10_000;
}

/**
 * Groundedness of `answer` in its retrieved context, 0..1 (unit-less):
 * |content tokens of the answer that occur in the concatenated context texts| / |content tokens of the answer|.
 * An answer without content tokens (empty, whitespace, punctuation or stop words only) scores 0: nothing
 * in it is supported by evidence. With no context at all every answer with content scores 0 as well, so
 * a no-RAG answer never passes the groundedness bar on its own.
 */
export function groundedness(answer: string, contextTexts: readonly string[]): number {
  return coverage(contentTokens(answer), contentTokens(contextTexts.join('\n')));
}

/**
 * Relevance of `answer` to `prompt`, 0..1 (unit-less):
 * |content tokens of the prompt that occur in the answer| / |content tokens of the prompt|.
 * A prompt without content tokens scores 0 (no evidence either way). This is a recall of the question's
 * key terms in the answer; it is reported, not used for the verdict.
 */
export function relevance(prompt: string, answer: string): number {
  return coverage(contentTokens(prompt), contentTokens(answer));
}

/**
 * Claim support of `answer`, 0..1 (unit-less): groundedness over the answer's content tokens that are NOT in the prompt,
 * |new answer tokens found in the context| / |new answer tokens|. An answer that restates the question ("The team that
 * represented the AFC was ...") is otherwise supported by its echo alone, since the question's words are in the context;
 * this scores only what the answer adds. 0 when the answer adds no content token (it only echoes the question) or has
 * no context.
 */
export function claimSupport(answer: string, prompt: string, contextTexts: readonly string[]): number {
  const asked = contentTokens(prompt);
  const added = new Set([...contentTokens(answer)].filter((t) => !asked.has(t)));
  return coverage(added, contentTokens(contextTexts.join('\n')));
}
