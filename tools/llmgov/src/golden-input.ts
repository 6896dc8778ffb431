import { createHash } from 'node:crypto';
import { z } from 'zod';
import { policyName } from '@llmgov/policy';
import type { GoldenItemInput } from '@llmgov/persistence';

/** Largest golden-set file read, bytes: the shared SQuAD subset is 2.3 MB; a golden set is curated, not bulk data. */
export const MAX_GOLDEN_FILE_BYTES = 16 * 1024 * 1024;
/** Most items one file may add. */
export const MAX_GOLDEN_ITEMS = 10_000;
/** Longest prompt, characters (the ingest API accepts longer, but a golden question is a question). */
export const MAX_PROMPT_CHARS = 8_000;
/** Longest expected answer, characters, and most expected answers per item. */
export const MAX_ANSWER_CHARS = 2_000;
export const MAX_ANSWERS = 20;
/** Most problems listed in one error. */
const MAX_LISTED = 20;

/** A file that is not a golden set: `issues` says where (line or JSON path) and why, at most 20 of them. */
export class GoldenInputError extends Error {
  override readonly name = 'GoldenInputError';
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}

/** Control characters other than tab/newline/CR, and unpaired surrogates: Postgres text cannot hold NUL, UTF-8 cannot hold a lone surrogate. */
// eslint-disable-next-line no-control-regex
const HOSTILE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const cleanText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.trim().length > 0, 'must not be empty')
    .refine((s) => !HOSTILE.test(s), 'must not contain control characters or unpaired surrogates');

const jsonlLine = z
  .strictObject({
    id: z.string().min(1).max(256).optional(),
    prompt: cleanText(MAX_PROMPT_CHARS),
    expected_answer: cleanText(MAX_ANSWER_CHARS).optional(),
    expected_answers: z.array(cleanText(MAX_ANSWER_CHARS)).min(1).max(MAX_ANSWERS).optional(),
    intent: policyName.optional(),
    tenant: policyName.optional(),
    route: policyName.optional(),
  })
  .refine((l) => (l.expected_answer === undefined) !== (l.expected_answers === undefined), 'give expected_answer or expected_answers (one of them)');

const squadFile = z.object({
  data: z
    .array(
      z.object({
        title: z.string().max(1024),
        paragraphs: z.array(
          z.object({
            context: z.string(),
            qas: z.array(
              z.object({
                id: z.string().min(1).max(256),
                question: cleanText(MAX_PROMPT_CHARS),
                answers: z.array(z.object({ text: cleanText(MAX_ANSWER_CHARS) })).max(MAX_ANSWERS),
              }),
            ),
          }),
        ),
      }),
    )
    .min(1),
});

export interface GoldenParseOptions {
  /** Tenants of the items. SQuAD: articles go to them round-robin (article i to tenants[i % n], as `npm run demo` indexes them). JSONL: the default of lines without `tenant`. */
  tenants: string[];
  route: string | null;
  /** Intent of SQuAD items (SQuAD has none): default `squad-qa`. */
  squadIntent: string;
  /** Keep the first `limit` items (SQuAD: interleaved across articles, so a prefix spans them). */
  limit?: number;
}

export interface ParsedGolden {
  format: 'squad' | 'jsonl';
  items: GoldenItemInput[];
  /** Items in the file before --limit. */
  total: number;
}

const zodIssues = (err: z.ZodError, prefix: string) =>
  err.issues.slice(0, MAX_LISTED).map((i) => `${prefix}${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`);

/**
 * Parses a golden-set file: SQuAD v1.1 JSON (`{"data": [...]}`, questions with at least one gold answer; the item key is
 * the question id and the source document id is `a<article>-p<paragraph>` as `npm run demo` indexes the paragraphs) or
 * JSONL, one `{prompt, expected_answer | expected_answers, intent?, tenant?, route?, id?}` per line (the key is `id`, else
 * the SHA-256 of the prompt). Blank lines are skipped. The whole file is checked before anything is stored.
 * @throws GoldenInputError naming each malformed line or field (at most 20), for a file with no items, with more than
 *   {@link MAX_GOLDEN_ITEMS} items, or with a duplicate key.
 */
export function parseGoldenText(text: string, file: string, opts: GoldenParseOptions): ParsedGolden {
  const trimmed = text.trimStart();
  let parsed: ParsedGolden;
  if (trimmed.startsWith('{') && /^\{\s*"data"\s*:/.test(trimmed)) parsed = parseSquad(text, file, opts);
  else parsed = parseJsonl(text, file, opts);
  if (parsed.total === 0) throw new GoldenInputError(`${file} has no items`);
  if (parsed.items.length > MAX_GOLDEN_ITEMS)
    throw new GoldenInputError(`${file} has ${parsed.items.length} items; at most ${MAX_GOLDEN_ITEMS} are accepted at once (use --limit)`);
  const seen = new Set<string>();
  for (const it of parsed.items) {
    if (seen.has(it.item_key)) throw new GoldenInputError(`${file} has the item ${it.item_key} twice`);
    seen.add(it.item_key);
  }
  return parsed;
}

function parseSquad(text: string, file: string, opts: GoldenParseOptions): ParsedGolden {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GoldenInputError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const r = squadFile.safeParse(raw);
  if (!r.success) throw new GoldenInputError(`${file} is not a SQuAD v1.1 file`, zodIssues(r.error, ''));
  const perArticle: GoldenItemInput[][] = r.data.data.map((article, a) => {
    const tenant = opts.tenants.length > 0 ? opts.tenants[a % opts.tenants.length]! : null;
    return article.paragraphs.flatMap((p, pi) =>
      p.qas
        .filter((qa) => qa.answers.length > 0)
        .map((qa) => ({
          item_key: qa.id,
          prompt: qa.question,
          expected_answers: [...new Set(qa.answers.map((x) => x.text))],
          intent: opts.squadIntent,
          tenant_id: tenant,
          route: opts.route,
          source: 'squad' as const,
          source_id: qa.id,
          source_document_id: `a${a}-p${pi}`,
        })),
    );
  });
  // Interleave: the first question of every article, then the second, ... (as the demo does), so a --limit prefix spans articles.
  const all: GoldenItemInput[] = [];
  for (let i = 0; perArticle.some((qs) => i < qs.length); i++) for (const qs of perArticle) if (i < qs.length) all.push(qs[i]!);
  return { format: 'squad', items: all.slice(0, opts.limit ?? all.length), total: all.length };
}

function parseJsonl(text: string, file: string, opts: GoldenParseOptions): ParsedGolden {
  if (opts.tenants.length > 1)
    throw new GoldenInputError(`${file} is JSONL: --tenant takes one tenant, the default of lines without "tenant" (a list is for SQuAD articles)`);
  const issues: string[] = [];
  const items: GoldenItemInput[] = [];
  const lines = text.split('\n');
  if (lines.length > MAX_GOLDEN_ITEMS * 2) throw new GoldenInputError(`${file} has ${lines.length} lines; at most ${MAX_GOLDEN_ITEMS} items are accepted`);
  lines.forEach((line, i) => {
    if (line.trim() === '' || issues.length >= MAX_LISTED) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      issues.push(`line ${i + 1}: not JSON (${(err as Error).message})`);
      return;
    }
    const r = jsonlLine.safeParse(value);
    if (!r.success) {
      issues.push(...zodIssues(r.error, `line ${i + 1}: `));
      return;
    }
    const l = r.data;
    const tenant = l.tenant ?? opts.tenants[0] ?? null;
    items.push({
      item_key: l.id ?? `sha256:${createHash('sha256').update(l.prompt).digest('hex').slice(0, 32)}`,
      prompt: l.prompt,
      expected_answers: [...new Set(l.expected_answers ?? [l.expected_answer!])],
      intent: l.intent ?? null,
      tenant_id: tenant,
      route: l.route ?? opts.route,
      source: 'jsonl',
      source_id: l.id ?? null,
      source_document_id: null,
    });
  });
  if (issues.length > 0) throw new GoldenInputError(`${file} is neither a SQuAD v1.1 file nor valid JSONL golden items`, issues.slice(0, MAX_LISTED));
  return { format: 'jsonl', items: items.slice(0, opts.limit ?? items.length), total: items.length };
}
