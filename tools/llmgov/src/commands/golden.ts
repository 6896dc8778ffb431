import { createHash } from 'node:crypto';
import Table from 'cli-table3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { policyName } from '@llmgov/policy';
import { GoldenRepository, type GoldenItemInput, type GoldenSetSummary } from '@llmgov/persistence';
import { CliError, actor, positiveInt, printJson, withDatabase } from '../cli.js';
import { GoldenInputError, MAX_GOLDEN_FILE_BYTES, parseGoldenText } from '../golden-input.js';
import { readTextFile } from './policy.js';

/** SQuAD's licence, kept in the provenance of sets made from it (../shared/data/README.md). */
const SQUAD_NOTE = 'SQuAD v1.1 (Rajpurkar et al., EMNLP 2016), CC BY-SA 4.0';

/** A golden-set name: what a policy gate can reference (the policy's name rule). */
export function goldenName(value: string): string {
  const r = policyName.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(`a golden set name is ${r.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}

function sinceTime(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2026-11-29T10:00:00Z');
  return d;
}

function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

const when = (d: Date) =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
const intents = (s: GoldenSetSummary) =>
  Object.entries(s.intents)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

interface JsonOption {
  json?: boolean;
}

/** `llmgov golden ...`: create, add-labels, list, show. */
export function registerGoldenCommands(program: Command): void {
  const golden = program
    .command('golden')
    .description('golden sets in Postgres: prompts with expected answers, evaluated with `llmgov eval` and checked by policy gates')
    .addHelpText(
      'after',
      `
A golden set is a named, growing list of prompts with the answers that count as right, an intent, and a tenant/route.
Each growth (a file, or curated feedback labels) bumps its version; eval runs record the version they scored.

Examples:
  llmgov golden create --name squad-50 --from ../shared/data/squad-v1.1-dev-subset.json --tenant tenant-a,tenant-b --limit 50
  llmgov golden create --name faq --from faq.jsonl --tenant tenant-a --route support-faq --dry-run
  llmgov golden add-labels --name faq --since 2026-11-01T00:00:00Z
  llmgov golden list
  llmgov golden show squad-50 --json`,
    );

  golden
    .command('create')
    .description('create golden set NAME from a SQuAD v1.1 file or JSONL of {prompt, expected_answer(s), intent, tenant?, route?, id?}')
    .requiredOption('--name <name>', 'name of the new set (letters, digits, ".", "_", "-")', goldenName)
    .requiredOption('--from <file>', `SQuAD v1.1 JSON or JSONL file (at most ${MAX_GOLDEN_FILE_BYTES} bytes)`)
    .option(
      '--tenant <list>',
      'tenant of the items; SQuAD: a comma list, articles split round-robin as `npm run demo` indexes them; JSONL: lines without tenant',
    )
    .option('--route <route>', 'policy route of the items (default: the tenant default route)')
    .option('--intent <name>', 'intent of SQuAD items (SQuAD has none)', 'squad-qa')
    .option('--limit <n>', 'keep the first N items (SQuAD: interleaved across articles)', positiveInt)
    .option('--dry-run', 'parse and check the file, print what would be stored; write nothing')
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .action(async (opts: { name: string; from: string; tenant?: string; route?: string; intent: string; limit?: number; dryRun?: boolean; json?: boolean }) => {
      const tenants = (opts.tenant ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      for (const t of [...tenants, ...(opts.route ? [opts.route] : []), opts.intent])
        if (!policyName.safeParse(t).success) throw new CliError(`${t} is not a valid tenant, route or intent name`, 'invalid_argument');
      const text = await readTextFile(opts.from, MAX_GOLDEN_FILE_BYTES, 'golden-set file');
      let parsed;
      try {
        parsed = parseGoldenText(text, opts.from, {
          tenants,
          route: opts.route ?? null,
          squadIntent: opts.intent,
          ...(opts.limit ? { limit: opts.limit } : {}),
        });
      } catch (err) {
        if (err instanceof GoldenInputError) throw new CliError(err.message, 'invalid_golden_file', err.issues);
        throw err;
      }
      const provenance = {
        kind: parsed.format,
        from: opts.from,
        sha256: createHash('sha256').update(text).digest('hex'),
        offered: parsed.items.length,
        at: new Date().toISOString(),
        by: actor(),
        ...(parsed.format === 'squad' ? { note: SQUAD_NOTE } : {}),
      };
      if (opts.dryRun) {
        const byIntent: Record<string, number> = {};
        for (const i of parsed.items) byIntent[i.intent ?? '-'] = (byIntent[i.intent ?? '-'] ?? 0) + 1;
        if (opts.json)
          printJson({
            dry_run: true,
            name: opts.name,
            format: parsed.format,
            items: parsed.items.length,
            total_in_file: parsed.total,
            intents: byIntent,
            provenance,
          });
        else
          console.log(
            `dry run: ${opts.from} is ${parsed.format}; ${parsed.items.length} of ${parsed.total} items would form golden set ${opts.name} (${Object.entries(
              byIntent,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}); nothing written`,
          );
        return;
      }
      await withDatabase(async (pool) => {
        const r = await new GoldenRepository(pool).addItems(opts.name, parsed.items, provenance, 'new');
        if (opts.json) printJson(r);
        else console.log(`created golden set ${opts.name} version ${r.set.version}: ${r.added} items (${intents(r.set)}) from ${opts.from}`);
      });
    });

  golden
    .command('add-labels')
    .description(
      "grow golden set NAME from curated feedback: GOOD-labelled judged answers (the feedback-labeler's labels) become items, the job's prompt with the judged answer as expected answer",
    )
    .requiredOption('--name <name>', 'the golden set (created when missing)', goldenName)
    .option('--since <time>', 'only labels created at or after this ISO 8601 time', sinceTime)
    .option('--tenant <tenant>', "only this tenant's labels")
    .option('--intent <name>', 'intent of the items added', 'feedback')
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .action(async (opts: { name: string; since?: Date; tenant?: string; intent: string; json?: boolean }) => {
      if (!policyName.safeParse(opts.intent).success) throw new CliError(`${opts.intent} is not a valid intent name`, 'invalid_argument');
      await withDatabase(async (pool) => {
        const repo = new GoldenRepository(pool);
        const labels = await repo.goodLabels(opts.since, opts.tenant);
        // A label whose prompt or answer is empty cannot be scored against; the judged answer is what people approved.
        const items: GoldenItemInput[] = labels
          .filter((l) => (l.prompt ?? '').trim() !== '' && l.answer.trim() !== '')
          .map((l) => ({
            item_key: `label:${l.feedback_event_id}`,
            prompt: l.prompt,
            expected_answers: [l.answer],
            intent: opts.intent,
            tenant_id: l.tenant_id,
            route: l.route,
            source: 'labels',
            source_id: l.job_id,
            source_document_id: null,
          }));
        const r = await repo.addItems(
          opts.name,
          items,
          {
            kind: 'labels',
            from: `labels GOOD${opts.tenant ? ` of ${opts.tenant}` : ''}${opts.since ? ` since ${opts.since.toISOString()}` : ''}`,
            sha256: null,
            offered: items.length,
            at: new Date().toISOString(),
            by: actor(),
          },
          'any',
        );
        if (opts.json) printJson({ ...r, labels_found: labels.length });
        else
          console.log(
            `golden set ${opts.name} version ${r.set.version}: ${r.added} items added from ${labels.length} GOOD labels (${r.skipped} already in the set); ${r.set.items} items in all`,
          );
      });
    });

  golden
    .command('list')
    .description('list the golden sets with their version, size and intents')
    .option('--json', 'print the result as JSON')
    .action(async (opts: JsonOption) => {
      await withDatabase(async (pool) => {
        const sets = await new GoldenRepository(pool).list();
        if (opts.json) {
          printJson(sets);
          return;
        }
        if (sets.length === 0) {
          console.log('no golden sets; create one with: llmgov golden create --name NAME --from FILE');
          return;
        }
        console.log(
          table(
            ['name', 'version', 'items', 'intents', 'created (UTC)', 'by'],
            sets.map((s) => [s.name, s.version, s.items, intents(s), when(s.created_at), s.created_by]),
          ),
        );
      });
    });

  golden
    .command('show')
    .description('print a golden set: provenance, eval runs, and its first items')
    .argument('<name>', 'the golden set', goldenName)
    .addOption(new Option('--items <n>', 'items to print').argParser(positiveInt).default(10))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: JsonOption & { items: number }) => {
      await withDatabase(async (pool) => {
        const repo = new GoldenRepository(pool);
        const set = await repo.get(name);
        const [items, runs] = [await repo.items(set.id, opts.items), await repo.runs(set.id)];
        if (opts.json) {
          printJson({ ...set, first_items: items, eval_runs: runs });
          return;
        }
        console.log(
          `golden set ${set.name} version ${set.version}: ${set.items} items (${intents(set)}); created ${when(set.created_at)} by ${set.created_by}`,
        );
        for (const p of set.provenance)
          console.log(
            `  + ${p.added} of ${p.offered} from ${p.kind} ${p.from}${p.sha256 ? ` (sha256 ${p.sha256.slice(0, 12)}…)` : ''} at ${p.at} by ${p.by}${p.note ? `; ${p.note}` : ''}`,
          );
        console.log(
          table(
            ['key', 'intent', 'tenant/route', 'prompt', 'expected'],
            items.map((i) => [
              i.item_key,
              i.intent ?? '-',
              `${i.tenant_id ?? '-'}/${i.route ?? '-'}`,
              i.prompt.slice(0, 60),
              i.expected_answers.join(' | ').slice(0, 40),
            ]),
          ),
        );
        if (runs.length === 0) console.log(`no eval runs; run one with: llmgov eval --golden ${set.name}`);
        else
          console.log(
            table(
              ['run', 'golden v', 'policy', 'items', 'EM', 'F1', 'pass', 'halluc.', 'finished (UTC)'],
              runs.map((r) => {
                const o = (r.summary as { overall?: Record<string, number> }).overall ?? {};
                const f = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '-');
                return [
                  r.id,
                  r.golden_version,
                  `${r.policy_namespace}@${r.policy_version ?? '-'}${r.pinned ? ' (pinned)' : ''}`,
                  r.items,
                  f(o.exact_match),
                  f(o.f1),
                  f(o.judge_pass_rate),
                  f(o.hallucination_rate),
                  when(r.finished_at),
                ];
              }),
            ),
          );
      });
    });
}
