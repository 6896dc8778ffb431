/**
 * Shared text normalisation and tokenisation for the local embedder and the BM25 sparse encoder.
 *
 * Both must see exactly the same tokens, otherwise dense and sparse vectors of one chunk describe
 * different documents; keep every change here versioned (it changes every vector).
 */

/**
 * A small English stop-word list (function words: articles, pronouns, auxiliaries, prepositions,
 * conjunctions). Deliberately short: it only removes words that carry no topical signal.
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but nor so yet if then else than that this these those there here ' +
    'i me my mine we us our ours you your yours he him his she her hers it its they them their theirs ' +
    'who whom whose which what when where why how ' +
    'is am are was were be been being do does did doing done have has had having ' +
    'will would shall should can could may might must ' +
    'of in on at by for with without from to into onto upon about above below over under ' +
    'between among through during before after since until while as per via ' +
    'not no all any both each few more most other some such only own same too very just also'
  ).split(' '),
);

/**
 * Lower-cases and Unicode-normalises text.
 *
 * - NFKC folds compatibility forms (full-width letters, ligatures such as "ﬁ", superscripts).
 * - Combining marks directly after a Latin letter are dropped ("café" → "cafe", "naïve" → "naive"),
 *   so accented and unaccented spellings of Latin-script words meet. Marks in other scripts
 *   (Devanagari vowel signs, Arabic harakat, …) are kept: there they distinguish words.
 * - Lower-casing is locale-independent (`toLowerCase`, not `toLocaleLowerCase`), so results do not
 *   depend on the machine's locale.
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/(\p{Script=Latin})\p{Mn}+/gu, '$1')
    .normalize('NFKC')
    .toLowerCase();
}

// A word is a run of letters, digits and marks (marks keep non-Latin words whole). An apostrophe
// inside a word does not split it: a trailing possessive "'s" is dropped ("Tesla's" → "tesla") and
// other apostrophes are removed ("don't" → "dont", "O'Neill" → "oneill").
const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*/gu;
const POSSESSIVE = /['’]s$/;
const APOSTROPHES = /['’]/g;

/** Longest token kept; longer runs (base64 blobs, hashes) are noise for lexical matching. */
export const MAX_TOKEN_LENGTH = 40;

export interface TokenizeOptions {
  /** Remove {@link ENGLISH_STOP_WORDS}. Default true. */
  removeStopWords?: boolean;
}

/** Normalises then splits text into word tokens, in order of appearance. */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const removeStopWords = options.removeStopWords ?? true;
  const out: string[] = [];
  for (const match of normalizeText(text).matchAll(WORD)) {
    const token = match[0].replace(POSSESSIVE, '').replace(APOSTROPHES, '');
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) continue;
    if (removeStopWords && ENGLISH_STOP_WORDS.has(token)) continue;
    out.push(token);
  }
  return out;
}
