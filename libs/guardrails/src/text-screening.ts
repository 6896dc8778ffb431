/**
 * Text normalisation, PII masking and prompt-injection screening. Written here rather than taken from a
 * library: these rules are platform governance policy (what we mask, what we reject), which is what this
 * project exists for, and no maintained npm package covers masking + injection scoring together.
 */

/**
 * A UTF-16 surrogate code unit that is not part of a pair. Such a string has no UTF-8 encoding: Postgres rejects
 * it in jsonb (`\ud800` escapes) and Buffer/Avro encoders silently turn it into U+FFFD.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** True when `s` has an unpaired UTF-16 surrogate (the negation of ES2024 `String.prototype.isWellFormed`). */
export function hasLoneSurrogates(s: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s);
}

/**
 * Unpaired surrogates replaced by U+FFFD (as ES2024 `toWellFormed` and the WHATWG encoders do), Unicode NFC,
 * control characters (NUL included; tab and newline kept) and bidi/zero-width controls removed, runs of spaces
 * collapsed, trimmed. The result is always storable as UTF-8 text and in Postgres jsonb.
 */
export function normaliseText(input: string): string {
  return (
    input
      .replace(LONE_SURROGATE, '\uFFFD')
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g, '')
      .replace(/[ \t]+/g, ' ')
      .replace(/ ?\n ?/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

/** True when `s` contains C0/C1 control characters other than tab/newline/carriage return. */
export function hasControlCharacters(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(s);
}

/** The kinds of PII that {@link maskPii} masks; each is replaced by `[LABEL]`. */
export const PII_LABELS = ['EMAIL', 'CARD', 'SSN', 'PHONE', 'IBAN'] as const;
export type PiiLabel = (typeof PII_LABELS)[number];

interface PiiRule {
  label: PiiLabel;
  pattern: RegExp;
  accept?: (match: string) => boolean;
}

/** Luhn checksum (ISO/IEC 7812-1) so that only plausible card numbers are masked. */
function luhnValid(digits: string): boolean {
  const d = digits.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = Number(d[d.length - 1 - i]);
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

const PII_RULES: PiiRule[] = [
  { label: 'EMAIL', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  { label: 'CARD', pattern: /\b(?:\d[ -]?){12,18}\d\b/g, accept: luhnValid },
  { label: 'SSN', pattern: /\b\d{3}-\d{2}-\d{4}\b/g },
  { label: 'PHONE', pattern: /(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b/g },
  { label: 'IBAN', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b/g },
];

/** The rules in order; each runs on the text the previous ones already masked. Counts per kind. */
function scanPii(text: string): { text: string; counts: Partial<Record<PiiLabel, number>> } {
  const counts: Partial<Record<PiiLabel, number>> = {};
  let out = text;
  for (const rule of PII_RULES) {
    out = out.replace(rule.pattern, (m) => {
      if (rule.accept && !rule.accept(m)) return m;
      counts[rule.label] = (counts[rule.label] ?? 0) + 1;
      return `[${rule.label}]`;
    });
  }
  return { text: out, counts };
}

/** Replaces e-mail addresses, card numbers (Luhn-valid), US SSNs, phone numbers and IBANs with `[LABEL]`. */
export function maskPii(text: string): { text: string; masked: number } {
  const { text: out, counts } = scanPii(text);
  let masked = 0;
  for (const n of Object.values(counts)) masked += n;
  return { text: out, masked };
}

/**
 * What {@link maskPii} would mask, counted per kind (kinds absent from the result were not found), e.g.
 * `{ EMAIL: 1, PHONE: 2 }`. Same rules, same order, so the counts sum to `maskPii(text).masked`.
 */
export function detectPii(text: string): Partial<Record<PiiLabel, number>> {
  return scanPii(text).counts;
}

const PLACEHOLDER = new RegExp(`\\[(${PII_LABELS.join('|')})\\]`, 'g');

/**
 * The `[LABEL]` placeholders {@link maskPii} leaves, counted per kind: PII found upstream in a text that was
 * already masked (the ingest-validator masks prompts before the router sees them). A user who types `[EMAIL]`
 * literally is counted too.
 */
export function countPiiPlaceholders(text: string): Partial<Record<PiiLabel, number>> {
  const counts: Partial<Record<PiiLabel, number>> = {};
  for (const m of text.matchAll(PLACEHOLDER)) {
    const label = m[1] as PiiLabel;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

/** Weighted phrases typical of prompt-injection attempts (OWASP LLM01 examples). */
const INJECTION_SIGNALS: [RegExp, number][] = [
  [/\b(ignore|disregard|forget)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all)\b[^.\n]{0,20}\b(instructions?|prompts?|rules?|directions?)/i, 0.8],
  [/\b(reveal|print|show|repeat|leak)\b[^.\n]{0,30}\b(system prompt|hidden prompt|instructions)/i, 0.6],
  [/\byou are now\b|\bact as (an? )?(unfiltered|unrestricted|jailbroken)/i, 0.5],
  [/\b(developer|god|dan) mode\b|\bjailbreak\b/i, 0.5],
  [/<\/?(system|assistant|im_start|im_end)>|\[\/?INST\]|<\|im_start\|>/i, 0.5],
  [/\bdo anything now\b|\bno (restrictions|rules|filters)\b/i, 0.3],
];

/** Prompt-injection score in 0..1: the sum of matched signal weights, capped at 1. */
export function injectionScore(text: string): number {
  let score = 0;
  for (const [re, w] of INJECTION_SIGNALS) if (re.test(text)) score += w;
  return Math.min(1, Math.round(score * 100) / 100);
}
