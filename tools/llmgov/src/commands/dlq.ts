import { InvalidArgumentError, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { DEAD_LETTER_CAUSES, isDeadLetterCause, type DeadLetterCause } from '@llmgov/errors';
import {
  createAvroSerde,
  DeadLetterReader,
  DeadLetterRedriver,
  DeadLetterTopicError,
  DlqHeaders,
  TopicNamespace,
  createKafka,
  decodeDeadLetterValue,
  groupDeadLetters,
  type DecodedDeadLetterValue,
  headersToStrings,
  type DeadLetterRecord,
} from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { RedriveRepository } from '@llmgov/persistence';
import { microUsdToUsd } from '@llmgov/billing';
import { countTokens } from '@llmgov/embeddings';
import { estimateRecordCost, type CostBasis, type ReplayPriceCatalog, type TokenCounter } from '@llmgov/replay';
import { CliError, actor, printJson, withDatabase } from '../cli.js';
import { DEFAULT_CATALOG, loadCatalog } from './replay.js';

/** `--cause`: one of the dead-letter cause classes. */
export function parseCause(v: string): DeadLetterCause {
  if (!isDeadLetterCause(v))
    throw new InvalidArgumentError(`unknown cause ${JSON.stringify(v.slice(0, 80))}; expected one of ${DEAD_LETTER_CAUSES.join(', ')}`);
  return v;
}

/**
 * `--since`: an ISO 8601 time (`2026-11-29T10:00:00Z`) or a duration back from now (`30m`, `2h`, `7d`, `45s`).
 * @returns epoch ms. @throws InvalidArgumentError for anything else, a time in the future, or before 2000.
 */
export function parseSince(v: string, now = Date.now()): number {
  const rel = /^(\d{1,6})(s|m|h|d)$/.exec(v);
  if (rel) return now - Number(rel[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) || Number.isNaN(t)) {
    throw new InvalidArgumentError('expected an ISO 8601 time (2026-11-29T10:00:00Z) or a duration back from now (30m, 2h, 7d)');
  }
  if (t > now) throw new InvalidArgumentError(`${v} is in the future`);
  if (t < Date.UTC(2000, 0, 1)) throw new InvalidArgumentError(`${v} is before 2000`);
  return t;
}

/** `--rate`: republishes per second, `N` or `N/s`, in (0, 10 000]. */
export function parseRate(v: string): number {
  const m = /^(\d{1,5}(?:\.\d{1,3})?)(?:\/s)?$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 10_000)) throw new InvalidArgumentError('expected a rate in records per second, e.g. 50 or 50/s (at most 10000)');
  return n;
}

function parsePartition(v: string): number {
  if (!/^\d{1,5}$/.test(v)) throw new InvalidArgumentError('expected a partition number (an integer >= 0)');
  return Number(v);
}

function parseOffset(v: string): string {
  if (!/^\d{1,19}$/.test(v) || BigInt(v) > 2n ** 63n - 1n) throw new InvalidArgumentError('expected an offset (an integer >= 0)');
  return v;
}

interface KafkaOptions {
  json?: boolean;
  prefix: string;
}

function kafkaSettings(opts: KafkaOptions) {
  const cfg = loadConfig(z.object({ KAFKA_BROKERS: platformEnvSchema.shape.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: platformEnvSchema.shape.SCHEMA_REGISTRY_URL }));
  let namespace: TopicNamespace;
  try {
    namespace = new TopicNamespace(opts.prefix);
  } catch (err) {
    throw new CliError((err as Error).message, 'invalid_argument');
  }
  const logger = createLogger('llmgov', process.env.LOG_LEVEL ?? 'error');
  return { kafka: createKafka('llmgov-dlq', cfg.KAFKA_BROKERS, logger), serde: createAvroSerde(cfg.SCHEMA_REGISTRY_URL), namespace, logger };
}

/** Runs `fn`, turning an unknown topic into a CliError `unknown_topic`. */
async function topicErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DeadLetterTopicError) throw new CliError(err.message, err.code);
    throw err;
  }
}

function withKafkaOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .addOption(new Option('--prefix <prefix>', 'topic namespace (KAFKA_TOPIC_PREFIX); default the live platform').env('KAFKA_TOPIC_PREFIX').default(''));
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

interface ListOptions extends KafkaOptions {
  topic?: string[];
  cause?: DeadLetterCause;
  since?: number;
}

interface RedriveOptions extends KafkaOptions {
  cause: DeadLetterCause;
  topic?: string[];
  since?: number;
  rate: number;
  dryRun?: boolean;
  priceCatalog: string;
}

/** How the redrive estimate is made, as printed with it. */
export const REDRIVE_COST_METHOD =
  'the estimate of llmgov replay --dry-run (libs/replay estimateRecordCost) per dead letter: a request at the worst case the router reserves for it (ADR 0007: prompt tokens counted with cl100k_base plus max_tokens, at its model price in the price catalog when per token, else the catalog default API price), a usage record at what the cost-attributor bills for it, anything else 0; an undecodable value costs 0 (it dead-letters again as schema). Consumers deduplicate by event id, so dead letters whose effect is already done cost nothing: this is an upper bound.';

/** What a redrive would cost (`llmgov dlq redrive --dry-run`, JSON `estimated_cost`). */
export interface RedriveCostEstimate {
  usd: number;
  /** Sum of the per-record estimates, micro-USD (each rounded up, as a reservation is). */
  micro_usd: number;
  price_catalog_version: string;
  /** Dead letters per estimate basis (`request_worst_case`, `usage_as_billed`, `no_model_call`). */
  records_by_basis: Partial<Record<CostBasis, number>>;
  /** Dead letters per catalog entry used (a model, or `default`). */
  records_by_price: Record<string, number>;
  /** Dead letters whose value could not be decoded (counted at 0). */
  undecodable: number;
  method: string;
}

/**
 * The estimated cost of republishing dead letters, from their decoded values and the price catalog: the sum of
 * `estimateRecordCost` (libs/replay, the estimate `llmgov replay --dry-run` prints) over the decoded ones. Pure.
 */
export function estimateRedriveCost(values: readonly DecodedDeadLetterValue[], catalog: ReplayPriceCatalog, count: TokenCounter): RedriveCostEstimate {
  const out: RedriveCostEstimate = {
    usd: 0,
    micro_usd: 0,
    price_catalog_version: catalog.version,
    records_by_basis: {},
    records_by_price: {},
    undecodable: 0,
    method: REDRIVE_COST_METHOD,
  };
  for (const v of values) {
    if (!v.decoded) {
      out.undecodable += 1;
      continue;
    }
    const est = estimateRecordCost(v.value, catalog, count);
    out.micro_usd += est.microUsd;
    out.records_by_basis[est.basis] = (out.records_by_basis[est.basis] ?? 0) + 1;
    if (est.priceOf) out.records_by_price[est.priceOf] = (out.records_by_price[est.priceOf] ?? 0) + 1;
  }
  out.usd = microUsdToUsd(out.micro_usd);
  return out;
}

/** The estimate as the text dry run prints it (two lines). Pure. */
export function formatRedriveCost(c: RedriveCostEstimate): string {
  const basis = Object.entries(c.records_by_basis)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const undecodable = c.undecodable > 0 ? `, undecodable ${c.undecodable}` : '';
  return `estimated cost: ${c.usd.toFixed(6)} USD (price catalog ${c.price_catalog_version}; ${basis || 'no records'}${undecodable})\n  how: ${c.method}\n`;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/**
 * Registers `llmgov dlq list`, `show` and `redrive` (issue 12 §4). They read `KAFKA_BROKERS` and
 * `SCHEMA_REGISTRY_URL` (defaults: the local stack's); `redrive` also `DATABASE_URL` (its checkpoint, migration 010).
 * Reads use a throwaway consumer group, so no live group moves.
 */
export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'Dead letters by cause (schema, validation, engine, budget, guardrail, dependency, bug): list, show, and redrive them once the cause is fixed.',
    );

  withKafkaOptions(
    dlq
      .command('list')
      .description('Count dead letters by source topic, cause and error code (with the latest of each, for `dlq show`).')
      .option('--topic <topic>', 'only this source topic (repeatable; a catalog topic or its .dlq name)', collect)
      .option('--cause <cause>', `only this cause: ${DEAD_LETTER_CAUSES.join(', ')}`, parseCause)
      .option('--since <time>', 'only dead letters since this ISO 8601 time or duration back from now (30m, 2h, 7d)', (v) => parseSince(v)),
  ).action(async (opts: ListOptions) => {
    const { kafka, namespace } = kafkaSettings(opts);
    const records: DeadLetterRecord[] = [];
    const read = await topicErrors(() =>
      new DeadLetterReader({ kafka, namespace }).scan({ topics: opts.topic, cause: opts.cause, since: opts.since }, (r) => void records.push(r)),
    );
    const groups = groupDeadLetters(records);
    if (opts.json) return printJson({ read, matched: records.length, groups });
    if (groups.length === 0) return void process.stdout.write(`no dead letters match (${read} DLQ record(s) read)\n`);
    process.stdout.write(
      `${table(
        ['SOURCE_TOPIC', 'CAUSE', 'ERROR_CODE', 'COUNT', 'FIRST', 'LAST', 'LATEST (dlq show ...)'],
        groups.map((g) => [
          g.source_topic,
          g.cause,
          g.error_code,
          String(g.count),
          g.first,
          g.last,
          `${g.latest.dlq_topic} ${g.latest.partition} ${g.latest.offset}`,
        ]),
      )}\n${records.length} dead letter(s) of ${read} read\n`,
    );
  });

  withKafkaOptions(
    dlq
      .command('show')
      .description('Print one dead letter: its provenance headers, other headers, key, and value decoded with the schema registry where the schema allows.')
      .argument('<topic>', 'the DLQ topic (or its source topic)')
      .argument('<partition>', 'partition', parsePartition)
      .argument('<offset>', 'offset', parseOffset),
  ).action(async (topic: string, partition: number, offset: string, opts: KafkaOptions) => {
    const { kafka, serde, namespace } = kafkaSettings(opts);
    const r = await topicErrors(() => new DeadLetterReader({ kafka, namespace }).get(topic, partition, offset));
    if (!r) throw new CliError(`no record at ${topic} partition ${partition} offset ${offset}`, 'not_found');
    const headers = headersToStrings(r.headers);
    const provenance = Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('dlq.')));
    const other = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('dlq.')));
    const value = await decodeDeadLetterValue(serde, r.value);
    const out = {
      dlq_topic: r.dlqTopic,
      partition: r.partition,
      offset: r.offset,
      source_topic: r.sourceTopic,
      cause: r.cause,
      error_code: r.errorCode,
      dead_lettered_at: new Date(r.deadLetteredAt).toISOString(),
      key: r.key?.toString('utf8') ?? null,
      provenance,
      headers: other,
      value,
    };
    if (opts.json) return printJson(out);
    process.stdout.write(
      [
        `${r.dlqTopic} partition ${r.partition} offset ${r.offset}: cause ${r.cause}, code ${r.errorCode}, from ${r.sourceTopic}`,
        `dead-lettered ${out.dead_lettered_at} by ${headers[DlqHeaders.service] ?? 'unknown'} after ${headers[DlqHeaders.attempts] ?? '?'} attempt(s)`,
        `error: ${r.errorClass}: ${r.errorMessage}`,
        `key: ${out.key ?? '(null)'}`,
        'provenance:',
        ...Object.entries(provenance).map(([k, v]) => `  ${k}: ${v}`),
        'headers:',
        ...Object.entries(other).map(([k, v]) => `  ${k}: ${v}`),
        value.decoded
          ? `value (schema id ${value.schema_id}):\n${JSON.stringify(value.value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}`
          : `value not decoded (${value.reason}); ${value.bytes} byte(s), base64:\n${value.base64 ?? '(null)'}`,
      ].join('\n') + '\n',
    );
  });

  withKafkaOptions(
    dlq
      .command('redrive')
      .description(
        'Republish dead letters of one cause to their source topic (dlq.* headers stripped, redrive.id added, the value and its event_id unchanged): rate limited, checkpointed in Postgres so a second run republishes nothing twice.',
      )
      .requiredOption('--cause <cause>', `the cause whose dead letters to redrive: ${DEAD_LETTER_CAUSES.join(', ')}`, parseCause)
      .option('--topic <topic>', 'only this source topic (repeatable)', collect)
      .option('--since <time>', 'only dead letters since this ISO 8601 time or duration back from now', (v) => parseSince(v))
      .addOption(new Option('--rate <n/s>', 'republishes per second').argParser(parseRate).default(50))
      .option('--dry-run', 'say what would be republished (counts by topic) and its estimated cost; publish and write nothing')
      .addOption(new Option('--price-catalog <path>', 'price catalog for the dry-run estimate').env('CATALOG_PATH').default(DEFAULT_CATALOG))
      .addHelpText(
        'after',
        `
Consumers deduplicate on the value's event_id, so a dead letter redriven twice has one effect. An interrupted redrive
resumes where it stopped when run again (a claim left unpublished is taken over after 60 s).

Examples:
  llmgov dlq redrive --cause dependency --dry-run
  llmgov dlq redrive --cause dependency --topic billing.usage.recorded.v1 --since 2h --rate 20/s`,
      ),
  ).action(async (opts: RedriveOptions) => {
    const { kafka, serde, namespace, logger } = kafkaSettings(opts);
    // Read before anything connects, so a bad catalog is a clear error and not a half-done dry run.
    const catalog = opts.dryRun ? await loadCatalog(opts.priceCatalog) : undefined;
    await withDatabase(async (pool) => {
      const checkpoints = new RedriveRepository(pool);
      // Connected only for a real run: a dry run publishes nothing.
      const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
      try {
        const redriver = new DeadLetterRedriver({ kafka, producer, checkpoints, serde, namespace, logger });
        const filter = { cause: opts.cause, topics: opts.topic, since: opts.since };
        const plan = await topicErrors(() => redriver.plan(filter));
        const summary = {
          dry_run: opts.dryRun === true,
          cause: opts.cause,
          matched: plan.matched,
          already_redriven: plan.alreadyRedriven,
          to_redrive: plan.records.length,
          by_source_topic: plan.bySourceTopic,
          rate_per_s: opts.rate,
          estimated_s: Math.ceil(plan.records.length / opts.rate),
        };
        if (catalog) {
          const decoded = await Promise.all(plan.records.map((r) => decodeDeadLetterValue(serde, r.value)));
          const estimated_cost = estimateRedriveCost(decoded, catalog, countTokens);
          if (opts.json) return printJson({ ...summary, estimated_cost });
          process.stdout.write(
            `dry run: would republish ${plan.records.length} dead letter(s) of cause ${opts.cause} (${plan.matched} matched, ${plan.alreadyRedriven} already redriven) at ${opts.rate}/s, about ${summary.estimated_s} s:\n` +
              Object.entries(plan.bySourceTopic)
                .map(([t, n]) => `  ${t}: ${n}\n`)
                .join('') +
              formatRedriveCost(estimated_cost) +
              'nothing published, nothing written\n',
          );
          return;
        }
        if (plan.records.length === 0) {
          // Nothing to do: no run is recorded and nothing is connected.
          if (opts.json) return printJson({ ...summary, redrive_id: null, published: 0, skipped: 0, failed: 0 });
          process.stdout.write(`nothing to redrive: ${plan.matched} dead letter(s) of cause ${opts.cause} match, ${plan.alreadyRedriven} redriven before\n`);
          return;
        }
        await producer.connect();
        const bar = new cliProgress.SingleBar(
          {
            format: 'redrive [{bar}] {value}/{total} | ETA {eta_formatted} | {skipped} skipped, {failed} failed',
            stream: process.stderr,
            noTTYOutput: true,
            notTTYSchedule: 5000,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        if (!opts.json) bar.start(plan.records.length, 0, { skipped: 0, failed: 0 });
        const result = await redriver.run(plan, {
          mode: 'manual',
          actor: actor(),
          ratePerSecond: opts.rate,
          reason: 'llmgov dlq redrive',
          onProgress: (r) => {
            if (!opts.json) bar.update(r.published + r.skipped + r.failed, { skipped: r.skipped, failed: r.failed });
          },
        });
        if (!opts.json) bar.stop();
        const out = { ...summary, redrive_id: result.redriveId, published: result.published, skipped: result.skipped, failed: result.failed };
        if (opts.json) printJson(out);
        else
          process.stdout.write(
            `redrive ${result.redriveId}: ${result.published} republished, ${result.skipped} skipped (claimed elsewhere), ${result.failed} failed, of ${plan.records.length} (${plan.alreadyRedriven} redriven before)\n`,
          );
        if (result.failed > 0) throw new CliError(`${result.failed} dead letter(s) could not be republished; run again to retry them`, 'redrive_failed');
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    });
  });
}
