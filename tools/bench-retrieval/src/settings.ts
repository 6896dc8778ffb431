import { tokenize } from '@llmgov/embeddings';

/**
 * How the question becomes the lexical (BM25) query text. The dense leg always embeds the question as asked.
 * - `raw`: the question as is (what the router sends today).
 * - `plain`: libs/embeddings `tokenize` without stop-word removal, joined by spaces: NFKC, lower case, accents of
 *   Latin letters folded, punctuation dropped, possessive `'s` dropped (`Tesla's` → `tesla`, where LanceDB's own
 *   tokenizer would keep a stray `s`).
 * - `keywords`: `plain` minus libs/embeddings' English stop words, which include the question words
 *   (who, what, which, when, where, why, how) and auxiliaries (did, was, is …).
 */
export const LEXICAL_QUERY_FORMS = ['raw', 'plain', 'keywords'] as const;
export type LexicalQueryForm = (typeof LEXICAL_QUERY_FORMS)[number];

/** The lexical query text of `question` in the given form (see {@link LEXICAL_QUERY_FORMS}). */
export function lexicalQuery(question: string, form: LexicalQueryForm): string {
  switch (form) {
    case 'raw':
      return question;
    case 'plain':
      return tokenize(question, { removeStopWords: false }).join(' ');
    case 'keywords':
      return tokenize(question).join(' ');
    default: {
      const never: never = form;
      throw new Error(`unknown lexical query form ${String(never)}`);
    }
  }
}

/**
 * One hybrid setting to measure: weighted RRF, score = dense / (rrfK + rank_dense) + lexical / (rrfK + rank_bm25),
 * over the LanceDB store's dense and BM25 top lists, with the lexical query in form `query`. Absent fields take the
 * store's defaults (the platform's setting).
 */
export interface HybridVariant {
  rrfK?: number;
  dense?: number;
  lexical?: number;
  query?: LexicalQueryForm;
}

/**
 * Parses `--variant` text: comma-separated `key=value` pairs with keys `rrfK` (number ≥ 0), `dense`, `lexical`
 * (weights ≥ 0) and `query` (a lexical query form), e.g. `rrfK=20,dense=0.7,query=keywords`.
 * @throws Error naming the bad pair.
 */
export function parseVariant(text: string): HybridVariant {
  const variant: HybridVariant = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value, extra] = pair.split('=').map((s) => s.trim());
    if (key === undefined || value === undefined || value === '' || extra !== undefined) throw new Error(`"${pair}" is not key=value`);
    if (key === 'query') {
      if (!(LEXICAL_QUERY_FORMS as readonly string[]).includes(value)) throw new Error(`query=${value}: expected one of ${LEXICAL_QUERY_FORMS.join(', ')}`);
      variant.query = value as LexicalQueryForm;
      continue;
    }
    if (key !== 'rrfK' && key !== 'dense' && key !== 'lexical') throw new Error(`unknown key "${key}" (known: rrfK, dense, lexical, query)`);
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${key}=${value}: expected a number >= 0`);
    variant[key] = n;
  }
  if (variant.dense === 0 && variant.lexical === 0) throw new Error('dense and lexical weights cannot both be 0');
  return variant;
}

/** A short label of a variant for the table, e.g. `k=20 d=0.7 l=1 q=keywords`; absent fields are left out. */
export function variantLabel(v: HybridVariant): string {
  return [
    v.rrfK === undefined ? '' : `k=${v.rrfK}`,
    v.dense === undefined ? '' : `d=${v.dense}`,
    v.lexical === undefined ? '' : `l=${v.lexical}`,
    v.query === undefined ? '' : `q=${v.query}`,
  ]
    .filter(Boolean)
    .join(' ');
}
