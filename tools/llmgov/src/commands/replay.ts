import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SingleBar, Presets } from 'cli-progress';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { isTopicName, rawSchemaFor } from '@llmgov/contracts';
import { countTokens } from '@llmgov/embeddings';
import { KafkaReplayIO, TopicNamespace, replayGroupId } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { ReplayRepository, type Pool, type ReplayRow } from '@llmgov/persistence';
import {
  ReplayInputError,
  checkBounds,
  checkFilter,
  dryRun,
  parseBound,
  parseRate,
  rangeTotal,
  resolveRanges,
  resolveTarget,
  runReplay,
  type Bound,
  type DryRunReport,
  type PartitionRange,
  type RecordFilter,
  type ReplayPriceCatalog,
  type ReplayProgress,
} from '@llmgov/replay';
import { CliError, actor, paint, printJson, withDatabase } from '../cli.js';

/** The price catalog the cost-attributor ships (its default CATALOG_PATH). */
export const DEFAULT_CATALOG = fileURLToPath(new URL('../../../../../services/cost-attributor/price-catalog/v2.json', import.meta.url));

const modelPrice = z.union([
  z.object({ kind: z.literal('api'), input_per_1m_tokens: z.number().min(0), output_per_1m_tokens: z.number().min(0) }),
  z.object({ kind: z.literal('self_hosted'), usd_per_gpu_hour: z.number().min(0) }),
]);
const catalogSchema = z.object({ version: z.string().min(1), models: z.record(z.string(), modelPrice), default: modelPrice });

/** Options of `llmgov replay`, as commander parses them. */
export interface ReplayCommandOptions {
  topic?: string;
  from?: string;
  to?: string;
  tenant?: string;
  route?: string;
  rate?: string;
  target: string;
  dryRun?: boolean;
  resume?: string;
  json?: boolean;
  priceCatalog: string;
  topicPrefix: string;
}

/** The `--json` document of a replay run. */
export interface ReplayReport {
  replay_id: string;
  topic: string;
  group_id: string;
  target: string;
  state: 'completed' | 'interrupted';
  scanned: number;
  matched: number;
  republished: number;
  undecodable: number;
  ranges: { partition: number; start: string; end: string; position: string }[];
  resumed: boolean;
}

/** What a test (or a caller embedding the command) can hook into. */
export interface ReplayHooks {
  signal?: AbortSignal;
  /** Called after each checkpoint is stored. */
  onCheckpoint?: (p: ReplayProgress) => void;
  /** Records per Kafka transaction at most (default 100). */
  maxRecordsPerTransaction?: number;
  /** Replay id to use instead of a generated one. */
  replayId?: string;
}

/** A new replay id: `rp-<UTC yyyymmddhhmmss>-<6 hex>`. */
export function newReplayId(now = new Date()): string {
  return `rp-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
}

const REPLAY_ID_RE = /^rp-[a-z0-9-]{1,60}$/;

// kafkajs' own log lines would land on stdout (pino) and spoil --json; its errors reach the caller as exceptions.
const SILENT = 'silent';

function kafkaSettings(): { brokers: string[]; registryUrl: string } {
  const c = loadConfig(z.object({ KAFKA_BROKERS: platformEnvSchema.shape.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: platformEnvSchema.shape.SCHEMA_REGISTRY_URL }));
  return { brokers: c.KAFKA_BROKERS, registryUrl: c.SCHEMA_REGISTRY_URL };
}

/**
 * The catalog topic a broker topic name stands for (`--topic` may carry the namespace prefix of a test or benchmark).
 * @throws ReplayInputError `unknown_topic` for a name that is no platform topic (DLQs are redriven by `llmgov dlq`).
 */
function catalogTopic(topic: string, prefix: string): { logical: string; fields: string[] } {
  const logical = new TopicNamespace(prefix).logical(topic);
  if (!isTopicName(logical))
    throw new ReplayInputError(
      `unknown topic ${JSON.stringify(topic.slice(0, 200))}: not a platform topic${prefix ? ` under prefix ${prefix}` : ''}`,
      'unknown_topic',
    );
  return { logical, fields: rawSchemaFor(logical).fields.map((f) => f.name) };
}

export async function loadCatalog(path: string): Promise<ReplayPriceCatalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the price catalog ${path}: ${(err as Error).message}`, 'invalid_price_catalog');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON`, 'invalid_price_catalog');
  }
  const r = catalogSchema.safeParse(json);
  if (!r.success)
    throw new CliError(
      `${path} is not a price catalog`,
      'invalid_price_catalog',
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  return r.data;
}

/** Resolves --from/--to into ranges per partition on the broker. */
async function planRanges(io: KafkaReplayIO, topic: string, from: Bound | undefined, to: Bound | undefined): Promise<PartitionRange[]> {
  const offsets = await io.topicOffsets(topic);
  const resolve = async (b: Bound | undefined) =>
    b === undefined ? undefined : b.kind === 'offsets' ? b.offsets : await io.offsetsAt(topic, b.ms, offsets.high);
  return resolveRanges(offsets, await resolve(from), await resolve(to));
}

function progressBar(opts: { json?: boolean }, total: number): { update: (n: number) => void; stop: () => void } {
  if (opts.json || !process.stderr.isTTY || total === 0) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: 'replay [{bar}] {percentage}% | {value}/{total} records | ETA {eta_formatted}', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

/**
 * `llmgov replay` without commander: plans (or reloads) the replay, then dry-runs or runs it. Exported for the
 * integration tests, which interrupt it through `hooks.signal`.
 * @throws ReplayInputError / CliError for bad input (see the codes), kafkajs errors when the broker is unreachable.
 */
export async function replayCommand(opts: ReplayCommandOptions, hooks: ReplayHooks = {}): Promise<ReplayReport | DryRunReport> {
  if (opts.resume !== undefined) return resume(opts, hooks);
  if (!opts.topic) throw new CliError('--topic is required (or --resume REPLAY_ID)', 'missing_topic');
  const { fields } = catalogTopic(opts.topic, opts.topicPrefix);
  const from = opts.from === undefined ? undefined : parseBound(opts.from);
  const to = opts.to === undefined ? undefined : parseBound(opts.to);
  checkBounds(from, to);
  const filter: RecordFilter = { tenant: opts.tenant, route: opts.route };
  checkFilter(filter, opts.topic, fields);
  const rate = opts.rate === undefined ? undefined : parseRate(opts.rate);
  const target = resolveTarget(opts.target);
  const catalog = opts.dryRun ? await loadCatalog(opts.priceCatalog) : undefined;
  const replayId = hooks.replayId ?? newReplayId();
  const { brokers, registryUrl } = kafkaSettings();
  const io = KafkaReplayIO.create({ brokers, registryUrl, logger: createLogger('llmgov-replay', SILENT), replayId });
  try {
    const ranges = await planRanges(io, opts.topic, from, to);
    if (catalog) {
      const bar = progressBar(opts, rangeTotal(ranges));
      try {
        return await dryRun({
          topic: opts.topic,
          groupId: replayGroupId(replayId),
          ranges,
          filter,
          io,
          catalog,
          countTokens,
          signal: hooks.signal,
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
      }
    }
    return await withDatabase(async (pool) => {
      const repo = new ReplayRepository(pool);
      const stored = ranges.map((r) => ({ partition: r.partition, start: String(r.start), end: String(r.end) }));
      const request = { from: opts.from ?? null, to: opts.to ?? null, tenant: opts.tenant ?? null, route: opts.route ?? null, rate_per_s: rate ?? null };
      const row = await repo.create({ replayId, topic: opts.topic!, request, ranges: stored, target: target.name, by: actor() });
      return execute(pool, row, io, { filter, rate, hooks, json: opts.json, resumed: false });
    });
  } finally {
    await io.close();
  }
}

async function resume(opts: ReplayCommandOptions, hooks: ReplayHooks): Promise<ReplayReport> {
  const replayId = opts.resume!;
  if (!REPLAY_ID_RE.test(replayId)) throw new ReplayInputError(`"${replayId.slice(0, 80)}" is not a replay id (rp-...)`, 'unknown_replay');
  if (opts.dryRun) throw new CliError('--dry-run cannot be combined with --resume', 'invalid_arguments');
  for (const [name, v] of Object.entries({ topic: opts.topic, from: opts.from, to: opts.to, tenant: opts.tenant, route: opts.route }))
    if (v !== undefined) throw new CliError(`--${name} cannot be combined with --resume: a resumed replay keeps its own`, 'invalid_arguments');
  return withDatabase(async (pool) => {
    const repo = new ReplayRepository(pool);
    const row = await repo.get(replayId);
    if (!row) throw new ReplayInputError(`no replay ${replayId}`, 'unknown_replay');
    if (row.state === 'completed' || row.state === 'failed')
      throw new ReplayInputError(`replay ${replayId} is ${row.state}; nothing to resume`, 'replay_finished');
    if (!(await repo.claim(replayId))) throw new ReplayInputError(`replay ${replayId} cannot be claimed`, 'replay_conflict');
    const request = row.request as { tenant: string | null; route: string | null; rate_per_s: number | null };
    const rate = opts.rate !== undefined ? parseRate(opts.rate) : (request.rate_per_s ?? undefined);
    const { brokers, registryUrl } = kafkaSettings();
    const io = KafkaReplayIO.create({ brokers, registryUrl, logger: createLogger('llmgov-replay', SILENT), replayId });
    try {
      return await execute(pool, row, io, {
        filter: { tenant: request.tenant ?? undefined, route: request.route ?? undefined },
        rate,
        hooks,
        json: opts.json,
        resumed: true,
      });
    } finally {
      await io.close();
    }
  });
}

async function execute(
  pool: Pool,
  row: ReplayRow,
  io: KafkaReplayIO,
  o: { filter: RecordFilter; rate: number | undefined; hooks: ReplayHooks; json?: boolean; resumed: boolean },
): Promise<ReplayReport> {
  const repo = new ReplayRepository(pool);
  const ranges: PartitionRange[] = row.ranges.map((r) => ({ partition: r.partition, start: BigInt(r.start), end: BigInt(r.end) }));
  // The group's offsets are committed with the records (one transaction); Postgres is written just after and may lag
  // one chunk behind after a crash: the later of the two is where the replay stands.
  const committed = await io.committed(row.topic);
  const resumeFrom = new Map<number, bigint>();
  for (const r of ranges) {
    const pg = BigInt(row.positions[String(r.partition)] ?? r.start);
    const k = committed.get(r.partition);
    resumeFrom.set(r.partition, k !== undefined && k > pg ? k : pg);
  }
  const total = rangeTotal(ranges);
  const bar = progressBar({ json: o.json }, total);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  o.hooks.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    const result = await runReplay({
      replayId: row.replay_id,
      topic: row.topic,
      groupId: replayGroupId(row.replay_id),
      ranges,
      resumeFrom,
      counts: { scanned: row.scanned, matched: row.matched, republished: row.republished, undecodable: row.undecodable },
      filter: o.filter,
      target: resolveTarget(row.target),
      io,
      ratePerSecond: o.rate,
      signal: stop.signal,
      maxRecordsPerTransaction: o.hooks.maxRecordsPerTransaction,
      checkpoint: async (p) => {
        await repo.checkpoint(row.replay_id, {
          positions: Object.fromEntries([...p.positions].map(([k, v]) => [String(k), String(v)])),
          scanned: p.scanned,
          matched: p.matched,
          republished: p.republished,
          undecodable: p.undecodable,
        });
        o.hooks.onCheckpoint?.(p);
      },
      onProgress: (p) => bar.update(ranges.reduce((n, r) => n + Number((p.positions.get(r.partition) ?? r.start) - r.start), 0)),
    });
    const state = result.completed ? 'completed' : 'interrupted';
    await repo.finish(row.replay_id, state);
    return {
      replay_id: row.replay_id,
      topic: row.topic,
      group_id: replayGroupId(row.replay_id),
      target: row.target,
      state,
      scanned: result.scanned,
      matched: result.matched,
      republished: result.republished,
      undecodable: result.undecodable,
      ranges: ranges.map((r) => ({
        partition: r.partition,
        start: String(r.start),
        end: String(r.end),
        position: String(result.positions.get(r.partition) ?? r.start),
      })),
      resumed: o.resumed,
    };
  } catch (err) {
    await repo.finish(row.replay_id, 'interrupted', (err as Error).message).catch(() => undefined);
    throw err;
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSignal);
  }
}

const fmtCounts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

/** A dry-run report as text. Pure. */
export function formatDryRun(r: DryRunReport): string {
  return [
    `dry run: replay of ${r.topic} (nothing published)`,
    `records in range: ${r.scanned}  matching: ${r.matched}  undecodable: ${r.undecodable}`,
    `by tenant: ${fmtCounts(r.by_tenant)}`,
    `by route:  ${fmtCounts(r.by_route)}`,
    `by topic:  ${fmtCounts(r.by_topic)}`,
    `time span: ${r.first_record_at ?? '-'} .. ${r.last_record_at ?? '-'} (${r.span_s.toFixed(1)} s)`,
    `estimated cost: ${r.cost.usd.toFixed(6)} USD (price catalog ${r.cost.price_catalog_version})`,
    `  how: ${r.cost.method}`,
    '',
  ].join('\n');
}

/** A replay report as text. Pure. */
export function formatReplay(r: ReplayReport): string {
  const resumeHint = r.state === 'interrupted' ? `\ninterrupted: continue with  llmgov replay --resume ${r.replay_id}` : '';
  return `replay ${r.replay_id} ${r.state}${r.resumed ? ' (resumed)' : ''}: ${r.topic}, target ${r.target}, group ${r.group_id}
records read: ${r.scanned}  matching: ${r.matched}  republished: ${r.republished}  undecodable: ${r.undecodable}${resumeHint}\n`;
}

/** Registers `llmgov replay` (issue 12 §1). Reads KAFKA_BROKERS, SCHEMA_REGISTRY_URL and (except with --dry-run) DATABASE_URL. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Republish the records of a topic between two times or offsets (optionally one tenant or route) to the same topic, with replay.id and origin.event.id headers, rate limited, resumable; consumers deduplicate effects by the original event id.',
    )
    .option('--topic <topic>', 'the topic to replay (a platform topic, optionally with the --topic-prefix namespace)')
    .option('--from <time|offsets>', 'start: ISO 8601 time with a zone, a UTC date, epoch ms, "now", or partition:offset,... (default: the oldest record kept)')
    .option('--to <time|offsets>', 'end, exclusive: same forms (default: the end of the topic when the replay starts)')
    .option('--tenant <id>', 'only records of this tenant')
    .option('--route <name>', 'only records of this policy route (topics whose values carry a route)')
    .option('--rate <N/s>', 'records per second at most (e.g. 50/s)')
    .option('--target <mode>', 'what to do with the records: reprocess (republish to the topic; effects already done stay done)', 'reprocess')
    .option('--dry-run', 'count by tenant, route and topic, the time span and the estimated cost; publish nothing')
    .option('--resume <replay_id>', 'continue an interrupted replay from its checkpoint')
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .addOption(new Option('--price-catalog <path>', 'price catalog for the dry-run estimate').env('CATALOG_PATH').default(DEFAULT_CATALOG))
    .addOption(new Option('--topic-prefix <prefix>', 'the Kafka namespace of --topic (tests and benchmarks)').env('KAFKA_TOPIC_PREFIX').default(''))
    .addHelpText(
      'after',
      `
Examples:
  llmgov replay --topic inference.request.submitted.v1 --from 2026-11-29T10:00:00Z --to 2026-11-29T11:00:00Z --tenant tenant-a --dry-run
  llmgov replay --topic inference.request.submitted.v1 --from 2026-11-29T10:00:00Z --route squad-qa --rate 20/s
  llmgov replay --topic billing.usage.recorded.v1 --from 0:120,1:98,2:0 --to 0:200,1:180,2:90
  llmgov replay --resume rp-20261129134200-a1b2c3`,
    )
    .action(async (opts: ReplayCommandOptions) => {
      const r = await replayCommand(opts).catch((err: unknown) => {
        throw err instanceof ReplayInputError ? new CliError(err.message, err.code) : err;
      });
      if (opts.json) printJson(r);
      else if ('replay_id' in r) process.stdout.write(formatReplay(r));
      else process.stdout.write(formatDryRun(r));
      // Interrupted (Ctrl-C): 130 as a shell reports SIGINT, so scripts see the replay did not finish.
      if ('state' in r && r.state === 'interrupted') {
        process.stderr.write(`${paint('yellow', 'interrupted', process.stderr)}: resume with llmgov replay --resume ${r.replay_id}\n`);
        process.exitCode = 130;
      }
    });
}
