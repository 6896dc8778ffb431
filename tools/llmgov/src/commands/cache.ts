import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { defaultModelDir } from '@llmgov/embeddings-server';
import {
  DEFAULT_POLICY_NAMESPACE,
  PolicyRepository,
  SemanticCacheRecords,
  TENANT_ID_RE,
  createRedis,
  type CalibratedThreshold,
  type Redis,
} from '@llmgov/persistence';
import {
  SEMANTIC_CACHE_DEFAULTS,
  Z_ONE_SIDED_95,
  calibrateThreshold,
  policyName,
  semanticCacheSettings,
  type LabelledHit,
  type PolicyDocument,
  type ThresholdCalibration,
} from '@llmgov/policy';
import { loadLocalEmbeddings, loadSquadQuestions, squadLookups, type SquadHalf } from '@llmgov/bench-semantic-cache';
import { CliError, printJson, withDatabase } from '../cli.js';

/** Largest labels file read, bytes. */
const MAX_LABELS_BYTES = 64 * 1024 * 1024;

const labelSchema = z.strictObject({ similarity: z.number().min(-1).max(1), correct: z.boolean() });

/**
 * Labelled lookups from a JSON Lines file, one `{"similarity": 0.93, "correct": true}` per line (judge verdicts or
 * feedback on served semantic hits, exported). Blank lines are skipped.
 * @throws CliError `invalid_labels` naming the first bad line.
 */
export function parseLabelLines(text: string, source: string): LabelledHit[] {
  const out: LabelledHit[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(`${source}:${i + 1}: not JSON`, 'invalid_labels');
    }
    const r = labelSchema.safeParse(value);
    if (!r.success)
      throw new CliError(`${source}:${i + 1}: expected {"similarity": -1..1, "correct": true|false}`, 'invalid_labels', [r.error.issues[0]?.message ?? '']);
    out.push(r.data);
  });
  if (out.length === 0) throw new CliError(`${source} holds no labelled lookup`, 'invalid_labels');
  return out;
}

/** `--target`: a false-hit rate in (0, 0.5]. */
export function parseTarget(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 0.5) throw new InvalidArgumentError('expected a false-hit rate in (0, 0.5], e.g. 0.02');
  return n;
}

/** A comma-separated list of `parse`d items (at least one), for commander. */
const list =
  (parse: (v: string) => string) =>
  (v: string): string[] => {
    const items = v.split(',').map((x) => x.trim());
    if (items.some((x) => x === '')) throw new InvalidArgumentError('expected a comma-separated list without empty items');
    return [...new Set(items.map(parse))];
  };

const parseTenant = (v: string): string => {
  if (!TENANT_ID_RE.test(v)) throw new InvalidArgumentError('expected a tenant id: [a-z0-9][a-z0-9_-]{0,63}');
  return v;
};
const parseRoute = (v: string): string => {
  if (!policyName.safeParse(v).success) throw new InvalidArgumentError('expected a route name: letters, digits, ".", "_" and "-"');
  return v;
};

function connect(): Redis {
  const { REDIS_URL } = loadConfig(z.object({ REDIS_URL: platformEnvSchema.shape.REDIS_URL }));
  return createRedis(REDIS_URL);
}

/** The active policy document, or undefined when DATABASE_URL is unset or no version is active. */
async function activePolicy(namespace: string): Promise<{ version: number; document: PolicyDocument } | undefined> {
  if (!process.env.DATABASE_URL) return undefined;
  return withDatabase(async (pool) => {
    const a = await new PolicyRepository(pool, namespace).active();
    return a ? { version: a.version, document: a.document } : undefined;
  });
}

interface CalibrateOptions {
  tenant: string[];
  route: string[];
  from: string;
  target?: number;
  half: SquadHalf;
  embeddingSpace?: string;
  modelDir: string;
  threads?: number;
  dryRun?: boolean;
  keepCurrent?: boolean;
  json?: boolean;
  namespace: string;
}

/** The `--json` document of `llmgov cache calibrate`. */
export interface CalibrateReport {
  /** Every tenant × route the threshold is stored for. */
  tenants: string[];
  routes: string[];
  source: string;
  embedding_space: string;
  calibration: ThresholdCalibration;
  /** What was stored (null with --dry-run). */
  stored: CalibratedThreshold | null;
  previous: CalibratedThreshold | null;
  dry_run: boolean;
}

/** The `--json` document of `llmgov cache show`. */
export interface CacheShowReport {
  tenant: string;
  policy_version: number | null;
  /** The threshold a route without a calibration uses (the active policy's, else the built-in default). */
  default_threshold: number;
  false_hit_target: number;
  thresholds: Record<string, CalibratedThreshold>;
  scopes: { scope: string; route: string; entries: number }[];
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/**
 * With --keep-current: the report of a threshold kept as it is, when every tenant × route holds one from the same
 * labels, target and embedding space (all equal); undefined when any differs or is missing.
 */
async function keptThreshold(opts: CalibrateOptions, source: string, target: number, space: string): Promise<CalibrateReport | undefined> {
  const redis = connect();
  try {
    const records = new SemanticCacheRecords(redis);
    let first: CalibratedThreshold | undefined;
    for (const tenant of opts.tenant)
      for (const route of opts.route) {
        const t = await records.getThreshold(tenant, route);
        if (!t || t.source !== source || t.target !== target || t.embedding_space !== space) return undefined;
        if (first && first.threshold !== t.threshold) return undefined;
        first ??= t;
      }
    if (!first) return undefined;
    const calibration: ThresholdCalibration = {
      threshold: first.threshold,
      target,
      z: Z_ONE_SIDED_95,
      pairs: first.pairs,
      positives: Number.NaN,
      hits: first.hits,
      falseHits: Math.round(first.false_hit_rate * first.hits),
      falseHitRate: first.false_hit_rate,
      falseHitUpperBound: first.false_hit_upper_bound,
      hitRate: first.pairs === 0 ? 0 : first.hits / first.pairs,
      recall: Number.NaN,
    };
    return {
      tenants: opts.tenant,
      routes: opts.route,
      source,
      embedding_space: space,
      calibration,
      stored: null,
      previous: first,
      dry_run: opts.dryRun === true,
    };
  } finally {
    redis.disconnect();
  }
}

/**
 * Registers `llmgov cache calibrate` and `llmgov cache show` (the semantic cache, ADR 0008). Both read `REDIS_URL`;
 * with `DATABASE_URL` they also read the active policy (route check, default target and threshold).
 */
export function registerCacheCommands(program: Command): void {
  const cache = program
    .command('cache')
    .description('The semantic answer cache: calibrate the similarity threshold of a tenant and route from labels, show thresholds and scopes (ADR 0008).')
    .addHelpText(
      'after',
      `
Labels: a SQuAD v1.1-format file (its questions are embedded with all-MiniLM-L6-v2 and labelled by their gold
answers: near-miss questions about the same paragraph, and rewordings of cached ones; --half picks the paragraphs),
or a JSON Lines file of labelled lookups {"similarity": 0.93, "correct": true} (judge verdicts, feedback).

Examples:
  llmgov cache calibrate --tenant tenant-a --route squad-qa --from ../shared/data/squad-v1.1-dev-subset.json --dry-run
  llmgov cache calibrate --tenant tenant-a --route squad-qa --from labels.jsonl --embedding-space chunks_all-MiniLM-L6-v2_384_v1
  llmgov cache show --tenant tenant-a --json`,
    );

  cache
    .command('calibrate')
    .description(
      'Pick the lowest similarity threshold whose false-hit rate (one-sided 95 % Wilson upper bound) stays under the target, and store it for the tenant and route (routers read it at the next lookup).',
    )
    .requiredOption('--tenant <ids>', 'tenant id, or a comma-separated list (the threshold is stored for each tenant × route)', list(parseTenant))
    .requiredOption('--route <names>', 'policy route of the tenant, or a comma-separated list', list(parseRoute))
    .requiredOption('--from <file>', 'labels: a SQuAD v1.1-format .json file, or a .jsonl file of {"similarity", "correct"} lines')
    .option('--target <rate>', "false-hit rate target (default: the active policy's semantic_cache.false_hit_target, else 0.02)", parseTarget)
    .addOption(
      new Option('--half <half>', 'SQuAD labels: which paragraphs (the other half is for measuring, bench:semantic-cache)')
        .choices(['calibrate', 'evaluate', 'all'])
        .default('calibrate'),
    )
    .option('--embedding-space <name>', 'JSONL labels: the embedding space their similarities were measured in (indexVersion of the model)')
    .option('--model-dir <dir>', 'SQuAD labels: all-MiniLM-L6-v2 files (infra/local/models.sh)', process.env.EMBEDDINGS_MODEL_DIR ?? defaultModelDir())
    .option('--threads <n>', 'SQuAD labels: ONNX Runtime threads (default: all cores)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected an integer in [1, 256]');
      return n;
    })
    .option('--dry-run', 'calibrate and print; write nothing')
    .option(
      '--keep-current',
      'SQuAD labels: when every tenant × route already has a threshold from the same file, half, target and embedding space, keep it (no embedding work)',
    )
    .option('--json', 'print the result as JSON (CalibrateReport)')
    .addOption(new Option('--namespace <name>', 'policy namespace of the active policy').env('LLMGOV_POLICY_NAMESPACE').default(DEFAULT_POLICY_NAMESPACE))
    .action(async (opts: CalibrateOptions) => {
      const policy = await activePolicy(opts.namespace);
      for (const tenant of opts.tenant)
        for (const route of opts.route)
          if (policy && !policy.document.tenants[tenant]?.routes[route])
            throw new CliError(`the active policy (version ${policy.version}) has no route ${route} for tenant ${tenant}`, 'unknown_route');
      const target = opts.target ?? (policy ? semanticCacheSettings(policy.document).falseHitTarget : SEMANTIC_CACHE_DEFAULTS.falseHitTarget);
      let labelled: LabelledHit[];
      let space: string;
      let source: string;
      if (opts.from.endsWith('.jsonl')) {
        if (!opts.embeddingSpace)
          throw new CliError('JSONL labels need --embedding-space (the space their similarities were measured in)', 'missing_embedding_space');
        const text = await readFile(opts.from, 'utf8').catch((err: unknown) => {
          throw new CliError(`cannot read ${opts.from}: ${(err as Error).message}`, 'unreadable_file');
        });
        if (text.length > MAX_LABELS_BYTES) throw new CliError(`${opts.from} is larger than ${MAX_LABELS_BYTES} bytes`, 'file_too_large');
        labelled = parseLabelLines(text, opts.from);
        space = opts.embeddingSpace;
        source = `labels:${opts.from}`;
      } else {
        const questions = await loadSquadQuestions(opts.from).catch((err: unknown) => {
          throw new CliError((err as Error).message, 'invalid_labels');
        });
        const embeddings = await loadLocalEmbeddings(opts.modelDir, opts.threads).catch((err: unknown) => {
          throw new CliError(`cannot load the embedding model: ${(err as Error).message}`, 'model_unavailable');
        });
        if (opts.keepCurrent) {
          const kept = await keptThreshold(opts, `squad:${opts.from}#${opts.half}`, target, embeddings.space);
          if (kept) {
            if (opts.json) return printJson(kept);
            console.log(
              `${opts.tenant.join(',')} × ${opts.route.join(',')}: kept threshold ${kept.calibration.threshold?.toFixed(4)} (${kept.previous?.calibrated_at})`,
            );
            return;
          }
        }
        const set = await squadLookups(questions, opts.half, embeddings);
        labelled = set.lookups;
        space = embeddings.space;
        source = `squad:${opts.from}#${opts.half}`;
      }
      const calibration = calibrateThreshold(labelled, { target });
      if (calibration.threshold === null)
        throw new CliError(
          `no threshold keeps the false-hit rate's upper bound under ${target} with these ${labelled.length} labelled lookups (${calibration.positives} correct); nothing stored`,
          'not_calibratable',
        );
      const record: CalibratedThreshold = {
        threshold: calibration.threshold,
        target,
        false_hit_upper_bound: calibration.falseHitUpperBound,
        false_hit_rate: calibration.falseHitRate,
        pairs: calibration.pairs,
        hits: calibration.hits,
        embedding_space: space,
        source,
        calibrated_at: new Date().toISOString(),
      };
      const redis = connect();
      try {
        const records = new SemanticCacheRecords(redis);
        const previous = (await records.getThreshold(opts.tenant[0]!, opts.route[0]!)) ?? null;
        if (!opts.dryRun) for (const tenant of opts.tenant) for (const route of opts.route) await records.setThreshold(tenant, route, record);
        const report: CalibrateReport = {
          tenants: opts.tenant,
          routes: opts.route,
          source,
          embedding_space: space,
          calibration,
          stored: opts.dryRun ? null : record,
          previous,
          dry_run: opts.dryRun === true,
        };
        if (opts.json) return printJson(report);
        const c = calibration;
        console.log(
          `${opts.tenant.join(',')} × ${opts.route.join(',')}: ${c.pairs} labelled lookups (${c.positives} with a right answer cached) from ${source}`,
        );
        console.log(
          `threshold ${c.threshold!.toFixed(4)} for a false-hit target of ${pct(target)}: ${c.hits} hits, ${c.falseHits} false (${pct(c.falseHitRate)}, 95 % bound ${pct(c.falseHitUpperBound)}), hit rate ${pct(c.hitRate)}, recall ${pct(c.recall)}`,
        );
        console.log(
          opts.dryRun
            ? `dry run: nothing written (stored now: ${previous ? previous.threshold.toFixed(4) : 'none'})`
            : `stored (was ${previous ? previous.threshold.toFixed(4) : 'none'}); routers use it from their next lookup in space ${space}`,
        );
      } finally {
        redis.disconnect();
      }
    });

  cache
    .command('show')
    .description("Show a tenant's calibrated thresholds per route, the default for the others, and its cache scopes with their live entries.")
    .requiredOption('--tenant <id>', 'tenant id', parseTenant)
    .option('--json', 'print JSON (CacheShowReport)')
    .addOption(new Option('--namespace <name>', 'policy namespace of the active policy').env('LLMGOV_POLICY_NAMESPACE').default(DEFAULT_POLICY_NAMESPACE))
    .action(async (opts: { tenant: string; json?: boolean; namespace: string }) => {
      const policy = await activePolicy(opts.namespace);
      const settings = policy ? semanticCacheSettings(policy.document) : undefined;
      const redis = connect();
      try {
        const records = new SemanticCacheRecords(redis);
        const report: CacheShowReport = {
          tenant: opts.tenant,
          policy_version: policy?.version ?? null,
          default_threshold: settings?.defaultThreshold ?? SEMANTIC_CACHE_DEFAULTS.defaultThreshold,
          false_hit_target: settings?.falseHitTarget ?? SEMANTIC_CACHE_DEFAULTS.falseHitTarget,
          thresholds: await records.thresholds(opts.tenant),
          scopes: await records.scopes(opts.tenant),
        };
        if (opts.json) return printJson(report);
        console.log(
          `tenant ${opts.tenant}: default threshold ${report.default_threshold} (${policy ? `policy version ${policy.version}` : 'built-in'}), false-hit target ${pct(report.false_hit_target)}`,
        );
        const routes = Object.entries(report.thresholds);
        if (routes.length === 0) console.log('no calibrated threshold (calibrate one with: llmgov cache calibrate --tenant T --route R --from FILE)');
        for (const [route, t] of routes)
          console.log(
            `  route ${route.padEnd(18)} threshold ${t.threshold.toFixed(4)}  false-hit ${pct(t.false_hit_rate)} (bound ${pct(t.false_hit_upper_bound)}, target ${pct(t.target)})  ${t.hits}/${t.pairs} lookups  ${t.embedding_space}  ${t.calibrated_at}  ${t.source}`,
          );
        for (const s of report.scopes) console.log(`  scope ${s.scope}  route ${s.route.padEnd(18)} ${s.entries} live entries`);
      } finally {
        redis.disconnect();
      }
    });
}
