#!/usr/bin/env node
/**
 * bench-ingest: documents per second through ingest-validator (consume the raw documents topic, validate, dedupe
 * against Postgres, publish to the validated topic) against a plain kafkajs consume-and-produce passthrough of the
 * same records, on the same broker, in the same run. Everything runs in its own Kafka namespace (`bench.<run>.`),
 * deleted at the end, so the live platform's topics and groups never see a benchmark record. See bench/README.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { intArg } from '@llmgov/cli-args';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import cliProgress from 'cli-progress';
import pg from 'pg';
import type { Admin } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, dlqTopic, topicSpec, type DocumentSubmitted } from '@llmgov/contracts';
import { AvroSerde, TopicNamespace, createKafka, deleteNamespace, ensureTopics, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { bootstrapPlatform, cpuSeconds, loadAverage, repoRoot, stackPids, startPlatform, treeCpuSeconds } from '@llmgov/platform';

const program = new Command('bench-ingest')
  .description(
    'Documents per second through ingest-validator (consume raw, validate, publish validated) against a plain kafkajs ' +
      'consume-and-produce passthrough of the same records on the same broker, in the same run; prints the ratio. ' +
      "The records are SQuAD paragraphs, produced once to a raw topic in the run's own namespace before either consumer starts.",
  )
  .option(
    '--input <path>',
    'SQuAD v1.1-format file whose paragraphs become the documents',
    path.resolve(repoRoot(), '../shared/data/squad-v1.1-dev-subset.json'),
  )
  .option('--documents <n>', 'documents to push through each consumer', intArg(100), 10_000)
  .option('--rounds <n>', 'passthrough/validator pairs to run (the machine is shared: several rounds show the spread)', intArg(1), 1)
  .option('--concurrency <n>', "ingest-validator's KAFKA_HANDLER_CONCURRENCY (records in flight)", intArg(1), 32)
  .option('--cpu-prof <dir>', 'write a V8 CPU profile of ingest-validator (node --cpu-prof) into this folder')
  .option('--summary <path>', 'write the results as JSON here')
  .option('--json', 'print the results as JSON instead of a table')
  .option('--timeout <s>', 'give up on a phase after this many seconds', intArg(10), 600);
program.parse();
const o = program.opts<{
  input: string;
  documents: number;
  rounds: number;
  concurrency: number;
  cpuProf?: string;
  summary?: string;
  json?: boolean;
  timeout: number;
}>();

const root = repoRoot();
const live = loadPlatformConfig();
const run =
  new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14) + Math.random().toString(36).slice(2, 6);
const ns = new TopicNamespace(`bench.${run}.`);
const config: PlatformConfig = { ...live, KAFKA_TOPIC_PREFIX: ns.prefix };
const TENANT = 'bench-tenant';
const API_KEYS = `${TENANT}=bench-key-${run}`;
const log = (msg: string): void => void (o.json ? process.stderr : process.stdout).write(`[bench-ingest] ${msg}\n`);

/** The figures of one phase. */
interface PhaseResult {
  consumer: 'passthrough' | 'ingest-validator';
  round: number;
  documents: number;
  /** Output records / (last output's timestamp − first output's timestamp), docs/s (see outputRate). */
  docs_per_s: number;
  /** Seconds from the first output to the last. */
  wall_s: number;
  /** CPU ms the consumer process used per document, counted from the moment it was ready (start-up excluded). */
  consumer_cpu_ms_per_doc: number;
  /** CPU ms Postgres (postmaster and backends) and the Kafka broker used per document during the phase. */
  postgres_cpu_ms_per_doc: number;
  kafka_cpu_ms_per_doc: number;
  /** ingest-validator only: mean handler time per document (kafka_handler_duration_seconds), ms. */
  handler_mean_ms?: number;
  /** ingest-validator only: records dead-lettered (should be 0). */
  dead_lettered?: number;
  load1_before: number;
  load1_after: number;
}

function paragraphs(file: string): string[] {
  const data = JSON.parse(readFileSync(file, 'utf8')) as { data?: { paragraphs?: { context?: string }[] }[] };
  const out = (data.data ?? []).flatMap((a) => (a.paragraphs ?? []).map((p) => p.context ?? '')).filter((t) => t.trim().length > 0);
  if (out.length === 0) throw new Error(`${file} has no SQuAD paragraphs (data[].paragraphs[].context)`);
  return out;
}

async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}

/** Progress: a live bar on a terminal, else one line every 10 s. */
const tty = process.stderr.isTTY === true && !o.json;
const bar = new cliProgress.SingleBar({ format: '[bench-ingest] {phase} {value}/{total} docs', hideCursor: true }, cliProgress.Presets.shades_classic);
let lastLine = 0;
const progress = (phase: string, value: number, total: number): void => {
  if (tty) return bar.update(value, { phase });
  if (Date.now() - lastLine < 10_000) return;
  lastLine = Date.now();
  process.stderr.write(`[bench-ingest] ${phase} ${value}/${total} docs\n`);
};

/**
 * Polls the output topics' end offsets every 100 ms (the only signal a broker gives of another process's output)
 * until `total` records appeared beyond `start`. Started before the consumer, so the first poll that sees output
 * sees only the first fetch's worth; the rate runs from that poll to the last. `count` is the latest poll's figure.
 */
class OutputWatch {
  count = 0;
  firstAt = 0;
  firstCount = 0;
  doneAt = 0;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly admin: Admin,
    private readonly topics: string[],
    private readonly start: number,
    private readonly total: number,
    private readonly phase: string,
  ) {
    this.done = this.poll();
    this.done.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
  }

  stop(): void {
    this.stopped = true;
  }

  private async poll(): Promise<void> {
    const deadline = Date.now() + o.timeout * 1000;
    if (tty) bar.start(this.total, 0, { phase: this.phase });
    try {
      while (!this.stopped) {
        const sums = await Promise.all(this.topics.map((t) => endOffsetSum(this.admin, t)));
        this.count = sums.reduce((a, b) => a + b, 0) - this.start;
        const now = Date.now();
        if (this.count > 0 && this.firstAt === 0) {
          this.firstAt = now;
          this.firstCount = this.count;
        }
        progress(this.phase, this.count, this.total);
        if (this.count >= this.total) {
          this.doneAt = now;
          return;
        }
        if (now > deadline) throw new Error(`${this.phase}: only ${this.count} of ${this.total} outputs after ${o.timeout} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${this.phase}: stopped at ${this.count} of ${this.total} outputs`);
    } finally {
      if (tty) bar.stop();
    }
  }
}

/** End offset of every partition of `topics`, keyed `topic:partition`. */
async function partitionEnds(admin: Admin, topics: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}:${p.partition}`, p.high);
  return out;
}

/**
 * The output rate from the records themselves: reads every record of `topics` past `from` (per partition) and
 * returns (records − those stamped in the first millisecond) / (last timestamp − first timestamp), per second. The
 * timestamps are the producing client's (kafkajs CreateTime), so polling delays do not enter the figure.
 */
async function outputRate(admin: Admin, topics: string[], from: Map<string, string>, groupId: string): Promise<number> {
  const to = await partitionEnds(admin, topics);
  const remaining = new Set([...to].filter(([k, end]) => BigInt(end) > BigInt(from.get(k) ?? '0')).map(([k]) => k));
  if (remaining.size === 0) return 0;
  for (const topic of topics) {
    const partitions = [...to.keys()]
      .filter((k) => k.startsWith(`${topic}:`))
      .map((k) => ({ partition: Number(k.slice(topic.length + 1)), offset: from.get(k) ?? '0' }));
    await admin.setOffsets({ groupId, topic, partitions });
  }
  const stamps: number[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const k = `${batch.topic}:${batch.partition}`;
            for (const m of batch.messages) {
              stamps.push(Number(m.timestamp));
              if (BigInt(m.offset) + 1n >= BigInt(to.get(k)!)) remaining.delete(k);
            }
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  const first = Math.min(...stamps);
  const last = Math.max(...stamps);
  const atFirst = stamps.filter((t) => t === first).length;
  return rate(stamps.length - atFirst, last - first);
}

const topicRetry = retry(handleAll, { maxAttempts: 5, backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 5_000 }) });
const kafka = createKafka('bench-ingest', live.KAFKA_BROKERS, createLogger('bench-ingest', 'error'));
const admin = kafka.admin();
const db = new pg.Pool({ connectionString: live.DATABASE_URL, max: 2 });
const stack = stackPids(root);
const logDir = path.join(root, '.local', 'logs', 'bench');
mkdirSync(logDir, { recursive: true });
const results: PhaseResult[] = [];

try {
  log(`run ${run}: namespace ${ns.prefix}; ${o.documents} documents x ${o.rounds} round(s); load ${JSON.stringify(loadAverage())}`);
  await bootstrapPlatform(config);
  const raw = ns.wire(Topics.documentSubmitted);
  const passOut = ns.wire('bench.passthrough.v1');
  // A new topic's leader election can lag behind createTopics on a busy broker (UNKNOWN_TOPIC_OR_PARTITION): retried.
  await topicRetry.execute(() =>
    ensureTopics(kafka, [{ topic: passOut, numPartitions: topicSpec(Topics.documentSubmitted).partitions, replicationFactor: 1 }]),
  );
  await admin.connect();

  // The documents: SQuAD paragraphs, each made unique to the run (ingest-validator forwards a content hash once).
  const texts = paragraphs(o.input);
  const serde = new AvroSerde(new SchemaRegistry({ host: live.SCHEMA_REGISTRY_URL }));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let bytes = 0;
  for (let i = 0; i < o.documents; i += 500) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(500, o.documents - i) }, async (_, j) => {
        const n = i + j;
        const id = `bench-${run}-${n}`;
        const doc: DocumentSubmitted = {
          ...newEnvelope(TENANT, id),
          document_id: id,
          source: 'bench-ingest',
          title: `bench ${n}`,
          text: `${texts[n % texts.length]} (${id})`,
          language: 'en',
          metadata: {},
        };
        const value = await serde.encode(Topics.documentSubmitted, doc);
        bytes += value.length;
        return { value };
      }),
    );
    await producer.send({ topic: raw, acks: -1, messages: batch });
    progress('producing raw documents', i + batch.length, o.documents);
  }
  await producer.disconnect();
  log(`produced ${o.documents} documents to ${raw} (mean ${Math.round(bytes / o.documents)} bytes)`);

  for (let round = 1; round <= o.rounds; round++) {
    // Passthrough.
    {
      const load1Before = loadAverage().load1;
      const start = await endOffsetSum(admin, passOut);
      const from = await partitionEnds(admin, [passOut]);
      const watch = new OutputWatch(admin, [passOut], start, o.documents, `round ${round} passthrough`);
      const child = spawn(process.execPath, [path.join(root, 'tools/bench-ingest/dist/src/passthrough.js')], {
        env: {
          ...process.env,
          KAFKA_BROKERS: live.KAFKA_BROKERS.join(','),
          PASSTHROUGH_FROM: raw,
          PASSTHROUGH_TO: passOut,
          PASSTHROUGH_GROUP_ID: ns.wire(`passthrough-r${round}`),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`passthrough exited with code ${code}`)));
          watch.done.catch(reject);
          createInterface({ input: child.stdout! }).on('line', (l) => l.includes('"ready"') && resolve());
        });
        const readyCount = watch.count;
        const cpu0 = [cpuSeconds(child.pid), treeCpuSeconds(stack.postgres), cpuSeconds(stack.kafka)];
        await watch.done;
        const perDoc = perDocAfter(o.documents - readyCount);
        const cpu1 = [cpuSeconds(child.pid), treeCpuSeconds(stack.postgres), cpuSeconds(stack.kafka)];
        results.push({
          consumer: 'passthrough',
          round,
          documents: o.documents,
          docs_per_s: await outputRate(admin, [passOut], from, ns.wire(`rate-pass-r${round}`)),
          wall_s: round1((watch.doneAt - watch.firstAt) / 1000),
          consumer_cpu_ms_per_doc: perDoc(cpu1[0]! - cpu0[0]!),
          postgres_cpu_ms_per_doc: perDoc(cpu1[1]! - cpu0[1]!),
          kafka_cpu_ms_per_doc: perDoc(cpu1[2]! - cpu0[2]!),
          load1_before: load1Before,
          load1_after: loadAverage().load1,
        });
      } finally {
        watch.stop();
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        }
      }
    }
    // ingest-validator, from the beginning of the same raw topic with its own group.
    {
      await db.query('DELETE FROM documents WHERE tenant_id = $1', [TENANT]);
      const load1Before = loadAverage().load1;
      const outTopics = [ns.wire(Topics.documentValidated), ns.wire(dlqTopic(Topics.documentSubmitted))];
      const startValidated = await endOffsetSum(admin, outTopics[0]!);
      const startDlq = await endOffsetSum(admin, outTopics[1]!);
      const from = await partitionEnds(admin, outTopics);
      const profDir = o.cpuProf ? path.resolve(o.cpuProf) : undefined;
      const watch = new OutputWatch(admin, outTopics, startValidated + startDlq, o.documents, `round ${round} ingest-validator`);
      const platform = await startPlatform({
        config,
        basePort: 18700,
        engines: false,
        services: ['ingest-validator'],
        logDir,
        env: {
          API_KEYS,
          LOG_LEVEL: 'warn',
          KAFKA_GROUP_ID: `ingest-validator-r${round}`,
          KAFKA_HANDLER_CONCURRENCY: String(o.concurrency),
          ...(profDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } : {}),
        },
      }).catch((err: unknown) => {
        watch.stop();
        throw err;
      });
      try {
        const svc = platform.services.get('ingest-validator')!;
        const readyCount = watch.count;
        const cpu0 = [cpuSeconds(svc.child.pid), treeCpuSeconds(stack.postgres), cpuSeconds(stack.kafka)];
        await watch.done;
        const perDoc = perDocAfter(o.documents - readyCount);
        const cpu1 = [cpuSeconds(svc.child.pid), treeCpuSeconds(stack.postgres), cpuSeconds(stack.kafka)];
        const metrics = await (await fetch(`${svc.url}/metrics`)).text();
        results.push({
          consumer: 'ingest-validator',
          round,
          documents: o.documents,
          docs_per_s: await outputRate(admin, outTopics, from, ns.wire(`rate-validator-r${round}`)),
          wall_s: round1((watch.doneAt - watch.firstAt) / 1000),
          consumer_cpu_ms_per_doc: perDoc(cpu1[0]! - cpu0[0]!),
          postgres_cpu_ms_per_doc: perDoc(cpu1[1]! - cpu0[1]!),
          kafka_cpu_ms_per_doc: perDoc(cpu1[2]! - cpu0[2]!),
          handler_mean_ms: handlerMeanMs(metrics, Topics.documentSubmitted),
          dead_lettered: (await endOffsetSum(admin, outTopics[1]!)) - startDlq,
          load1_before: load1Before,
          load1_after: loadAverage().load1,
        });
      } finally {
        watch.stop();
        await platform.stop();
      }
      if (profDir) log(`CPU profile of ingest-validator written to ${profDir} (open in Chrome DevTools or speedscope)`);
    }
  }
} finally {
  await admin.disconnect().catch(() => undefined);
  await db.query('DELETE FROM documents WHERE tenant_id = $1', [TENANT]).catch(() => undefined);
  await db.end();
  const deleted = await deleteNamespace(kafka, ns.prefix).catch((err: unknown) => {
    log(`could not delete the namespace ${ns.prefix}: ${(err as Error).message}`);
    return { topics: [], groups: [] };
  });
  log(`deleted namespace ${ns.prefix}: ${deleted.topics.length} topics, ${deleted.groups.length} consumer groups`);
}

function rate(n: number, ms: number): number {
  return ms > 0 ? Math.round((n / ms) * 1000) : 0;
}
/** CPU ms per document, for CPU seconds spent on `docs` documents (those output after the process was ready). */
function perDocAfter(docs: number): (cpuS: number) => number {
  return (cpuS) => Math.round(((cpuS * 1000) / Math.max(1, docs)) * 1000) / 1000;
}
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
/** Mean of kafka_handler_duration_seconds over every outcome of `topic`, ms, from a Prometheus text exposition. */
function handlerMeanMs(text: string, topic: string): number | undefined {
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.includes(`topic="${topic}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('kafka_handler_duration_seconds_sum')) sum += value;
    else if (line.startsWith('kafka_handler_duration_seconds_count')) count += value;
  }
  return count > 0 ? Math.round(((sum * 1000) / count) * 100) / 100 : undefined;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ratios = Array.from({ length: o.rounds }, (_, i) => {
  const p = results.find((r) => r.round === i + 1 && r.consumer === 'passthrough');
  const v = results.find((r) => r.round === i + 1 && r.consumer === 'ingest-validator');
  return p && v && p.docs_per_s > 0 ? Math.round((v.docs_per_s / p.docs_per_s) * 1000) / 1000 : Number.NaN;
});
const summary = {
  run,
  documents: o.documents,
  rounds: o.rounds,
  handler_concurrency: o.concurrency,
  input: o.input,
  load_at_end: loadAverage(),
  phases: results,
  ratio_by_round: ratios,
  ratio_median: Math.round(median(ratios) * 1000) / 1000,
  target_ratio: 0.8,
};
if (o.json) console.log(JSON.stringify(summary, null, 2));
else {
  const cols = [
    'round',
    'consumer',
    'docs_per_s',
    'wall_s',
    'consumer_cpu_ms_per_doc',
    'postgres_cpu_ms_per_doc',
    'kafka_cpu_ms_per_doc',
    'handler_mean_ms',
    'load1_before',
    'load1_after',
  ] as const;
  const rows = results.map((r) => cols.map((c) => String(r[c] ?? '-')));
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\ningest benchmark: ${o.documents} documents, ${o.rounds} round(s)`);
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log(`ratio ingest-validator / passthrough: ${ratios.join(', ')} (median ${summary.ratio_median}; target >= 0.8)`);
}
if (o.summary) {
  mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
  writeFileSync(o.summary, `${JSON.stringify(summary, null, 2)}\n`);
  log(`summary written to ${o.summary}`);
}
process.exit(0);
