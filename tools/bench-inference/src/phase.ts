import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Kafka, Producer } from 'kafkajs';
import type { PlatformConfig } from '@llmgov/config';
import { Topics, routedTopicForTier, type InferenceCompleted, type InferenceRequestRouted, type JobStatusChanged, type Tier } from '@llmgov/contracts';
import { type AvroSerde, type TopicNamespace, newEnvelope } from '@llmgov/kafka-runtime';
import { scrapeVllmMetrics } from '@llmgov/llm-clients';
import { percentile } from '@llmgov/observability';
import { repoRoot, spawnManaged, type ManagedProcess } from '@llmgov/platform';
import type { TraceRequest } from './trace.js';

export type ConsumerKind = 'worker' | 'naive';

export interface EngineSettings {
  count: number;
  maxNumSeqs: number;
  maxWaiting: number;
  kvCacheTokens: number;
  prefillMsPerToken: number;
  decodeBaseMs: number;
  decodeMsPerSeq: number;
}

export interface PhaseOptions {
  kind: ConsumerKind;
  run: string;
  /** The run's Kafka namespace (`bench.<run>.`): every topic and group of the phase lives in it, never the live ones. */
  namespace: TopicNamespace;
  config: PlatformConfig;
  kafka: Kafka;
  producer: Producer;
  serde: AvroSerde;
  schedule: { atMs: number; req: TraceRequest }[];
  engines: EngineSettings;
  /** Worker: in-flight calls per endpoint beyond max_num_seqs (the engine-side queue it may build). */
  workerHeadroom: number;
  tier: Tier;
  /** Give up waiting for the last results this long after the last request was sent, ms. */
  drainTimeoutMs: number;
  /** Extra environment of the worker process (e.g. MALLOC_ARENA_MAX, NODE_OPTIONS for memory experiments). */
  workerEnv?: Record<string, string>;
  logDir: string;
  basePort: number;
  onProgress: (p: { phase: ConsumerKind; sent: number; total: number; finished: number; running: number; waiting: number }) => void;
}

/** The figures of one phase (see bench/README.md for definitions). */
export interface PhaseResult {
  sent: number;
  completed: number;
  failed: number;
  completed_per_s: number;
  utilization_while_backlog: number | null;
  backlog_samples: number;
  engine_queue_max: number;
  engine_queue_cap: number;
  engine_rejected: number;
  e2e_p50_ms: number;
  e2e_p95_ms: number;
  e2e_p99_ms: number;
  rss_start_mb: number;
  rss_max_mb: number;
  rss_end_mb: number;
  /** Largest RSS sample of each minute of the phase, MB. */
  rss_max_by_minute_mb: number[];
  /** Worker only (its /metrics, every 5 s): largest V8 heap used and largest external (Buffer) memory of each minute, MB. */
  heap_used_max_by_minute_mb: number[];
  external_max_by_minute_mb: number[];
  lost: number;
  duplicated: number;
  wall_s: number;
}

const MODEL = 'bench-model';
const SAMPLE_MS = 200;
const SYSTEM_PROMPT = 'You are a helpful assistant.';

/** A prompt of about `tokens` cl100k tokens (" hello" is one token). */
const promptOf = (tokens: number): string => ' hello'.repeat(Math.max(1, tokens - 12));

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Makes a new consumer group start at the current end of `topics`. A group without committed offsets and
 * `fromBeginning: false` resolves "latest" only at its first fetch, after it announced it joined, so records produced
 * in between would be skipped; committing the end offsets first removes that race.
 */
async function startGroupAtEnd(kafka: Kafka, groupId: string, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Runs one phase: fresh engines, the consumer under test, the trace replay, sampling, and the tally. */
export async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const root = repoRoot();
  const prefix = `bench-${o.run}-${o.kind}-`;
  const engines: ManagedProcess[] = [];
  let consumerProc: ChildProcess | undefined;
  let worker: ManagedProcess | undefined;
  const ns = o.namespace;
  const collectorGroup = ns.wire(`${prefix}collector`);
  const collector = o.kafka.consumer({ groupId: collectorGroup, maxWaitTimeInMs: 100 });
  const sentAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const failed = new Set<string>();
  let duplicated = 0;
  let lastFinish = 0;
  const finish = (job: string, at: number, ok: boolean): void => {
    if (ok) {
      if (completedAt.has(job)) duplicated++;
      else completedAt.set(job, at);
    } else failed.add(job);
    lastFinish = Math.max(lastFinish, at);
  };
  try {
    const e = o.engines;
    for (let i = 0; i < e.count; i++) {
      const port = o.basePort + i;
      engines.push(
        await spawnManaged({
          name: `bench-engine-${i}`,
          script: path.join(root, 'tools/vllm-sim/dist/src/main.js'),
          args: [
            '--port',
            String(port),
            '--model',
            MODEL,
            '--ignore-eos',
            '--max-num-seqs',
            String(e.maxNumSeqs),
            '--max-waiting',
            String(e.maxWaiting),
            '--kv-cache-tokens',
            String(e.kvCacheTokens),
            '--prefill-ms-per-token',
            String(e.prefillMsPerToken),
            '--decode-base-ms',
            String(e.decodeBaseMs),
            '--decode-ms-per-seq',
            String(e.decodeMsPerSeq),
          ],
          env: { LOG_LEVEL: 'warn' },
          port,
          logDir: o.logDir,
          readyPath: '/health',
        }),
      );
    }
    const urls = engines.map((x) => x.url);

    // Results collector: completions and failures on Kafka (worker), or the naive consumer's stdout lines.
    const completedTopic = ns.wire(Topics.inferenceCompleted);
    await startGroupAtEnd(o.kafka, collectorGroup, [completedTopic, ns.wire(Topics.jobStatus)]);
    await collector.connect();
    await collector.subscribe({ topics: [completedTopic, ns.wire(Topics.jobStatus)], fromBeginning: false });
    const joined = new Promise<void>((resolve) => collector.on(collector.events.GROUP_JOIN, () => resolve()));
    await collector.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          if (!key.startsWith(prefix)) continue;
          if (batch.topic === completedTopic) {
            const v = (await o.serde.decode(m.value)) as InferenceCompleted;
            finish(v.job_id, Number(m.timestamp), true);
          } else {
            const v = (await o.serde.decode(m.value)) as JobStatusChanged;
            if (v.state === 'failed') finish(v.job_id, Number(m.timestamp), false);
          }
        }
      },
    });
    await joined;

    const env = {
      KAFKA_BROKERS: o.config.KAFKA_BROKERS.join(','),
      SCHEMA_REGISTRY_URL: o.config.SCHEMA_REGISTRY_URL,
      DATABASE_URL: o.config.DATABASE_URL,
      REDIS_URL: o.config.REDIS_URL,
      LOG_LEVEL: 'warn',
      KAFKA_TOPIC_PREFIX: ns.prefix,
    };
    const routedTopic = routedTopicForTier(o.tier);
    // The worker's group for a tier is `<prefix><KAFKA_GROUP_ID>.<tier>` (the runtime adds the namespace's prefix).
    await startGroupAtEnd(o.kafka, ns.wire(o.kind === 'worker' ? `${prefix}group.${o.tier}` : `${prefix}group`), [ns.wire(routedTopic)]);
    if (o.kind === 'worker') {
      const endpoint = (url: string) => ({
        url,
        max_inflight: e.maxNumSeqs + o.workerHeadroom,
        max_num_seqs: e.maxNumSeqs,
        gpu_type: 'simulated',
        usd_per_gpu_hour: 1,
      });
      const pool = { model: MODEL, endpoints: urls.map(endpoint) };
      const poolsFile = path.join(o.logDir, `bench-pools-${o.run}.json`);
      writeFileSync(poolsFile, JSON.stringify({ version: 1, pools: { S: pool, M: pool, L: pool } }, null, 2));
      const port = o.basePort + 50;
      worker = await spawnManaged({
        name: 'bench-inference-worker',
        script: path.join(root, 'services/inference-worker/dist/src/main.js'),
        env: {
          ...env,
          HTTP_PORT: String(port),
          POOLS_FILE: poolsFile,
          WORKER_TIERS: o.tier,
          KAFKA_GROUP_ID: `${prefix}group`,
          KAFKA_FROM_BEGINNING: 'false',
          ...o.workerEnv,
        },
        port,
        logDir: o.logDir,
        readyPath: '/health/ready',
        readyTimeoutMs: 90_000,
      });
    } else {
      consumerProc = spawn(process.execPath, [path.join(root, 'tools/bench-inference/dist/src/naive-consumer.js')], {
        env: {
          ...process.env,
          ...env,
          NAIVE_TOPIC: ns.wire(routedTopic),
          NAIVE_GROUP_ID: ns.wire(`${prefix}group`),
          NAIVE_ENDPOINTS: urls.join(','),
          NAIVE_MODEL: MODEL,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const proc = consumerProc;
      const lines = createInterface({ input: proc.stdout! });
      await new Promise<void>((resolve, reject) => {
        proc.once('exit', (code) => reject(new Error(`naive consumer exited with code ${code}`)));
        lines.on('line', (line) => {
          let msg: { ready?: boolean; job_id?: string; ok?: boolean; finished_at?: number };
          try {
            msg = JSON.parse(line) as typeof msg;
          } catch {
            return;
          }
          if (msg.ready) resolve();
          else if (msg.job_id) finish(msg.job_id, msg.finished_at ?? Date.now(), msg.ok === true);
        });
      });
    }
    const consumerPid = worker?.child.pid ?? consumerProc?.pid;

    // Sampling: engine running/waiting from /metrics, consumer RSS from /proc.
    let backlogSamples = 0;
    let utilSum = 0;
    let queueMax = 0;
    const rss: number[] = [];
    const rssAt: number[] = [];
    const heap: number[] = [];
    const external: number[] = [];
    const memAt: number[] = [];
    let lastMemSample = 0;
    let running = 0;
    let waiting = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const started = Date.now();
        const loads = await Promise.all(urls.map((u) => scrapeVllmMetrics(u, { timeoutMs: 1000 }).catch(() => undefined)));
        running = loads.reduce((a, l) => a + (l?.running ?? 0), 0);
        waiting = loads.reduce((a, l) => a + (l?.waiting ?? 0), 0);
        queueMax = Math.max(queueMax, ...loads.map((l) => l?.waiting ?? 0));
        const finished = completedAt.size + failed.size;
        const backlog = sentAt.size - finished - running - waiting;
        if (backlog > 0 && loads.every(Boolean)) {
          backlogSamples++;
          utilSum += running / (e.maxNumSeqs * e.count);
        }
        rss.push(rssMb(consumerPid));
        rssAt.push(Date.now());
        if (worker && Date.now() - lastMemSample >= 5_000) {
          lastMemSample = Date.now();
          const text = await fetch(`${worker.url}/metrics`, { signal: AbortSignal.timeout(1000) })
            .then((r) => r.text())
            .catch(() => '');
          const gauge = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
          if (text) {
            heap.push(gauge('nodejs_heap_size_used_bytes'));
            external.push(gauge('nodejs_external_memory_bytes'));
            memAt.push(Date.now());
          }
        }
        o.onProgress({ phase: o.kind, sent: sentAt.size, total: o.schedule.length, finished, running, waiting });
        await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (Date.now() - started))));
      }
    })();

    // Replay: every record is produced at its (sped-up) arrival time; records due together go in one send.
    const topic = routedTopic;
    const t0 = Date.now();
    let i = 0;
    while (i < o.schedule.length) {
      const now = Date.now() - t0;
      const due: { key: string; value: Buffer }[] = [];
      while (i < o.schedule.length && o.schedule[i]!.atMs <= now) {
        const { req } = o.schedule[i]!;
        const jobId = `${prefix}${i}`;
        const occurredAt = Date.now();
        const record: InferenceRequestRouted = {
          ...newEnvelope('bench-tenant', jobId),
          job_id: jobId,
          shadow: false,
          prompt_template: null,
          tier: o.tier,
          model: MODEL,
          prompt: promptOf(req.contextTokens),
          system_prompt: SYSTEM_PROMPT,
          context: [],
          max_tokens: req.generatedTokens,
          temperature: 0,
          deadline_at: occurredAt + 3_600_000,
          attempt: 1,
          route_reason: 'bench:trace-replay',
          route: null,
          policy_version: null,
          decision_reasons: [],
          cache_key: jobId,
          budget: { latency_ms: 3_600_000, max_cost_usd: 1, min_quality: 0 },
          team: 'bench',
          feature: 'trace-replay',
        };
        record.occurred_at = occurredAt;
        due.push({ key: jobId, value: await o.serde.encode(topic, record) });
        sentAt.set(jobId, occurredAt);
        i++;
      }
      if (due.length > 0) await o.producer.send({ topic: ns.wire(topic), messages: due });
      const nextAt = o.schedule[i]?.atMs;
      if (nextAt !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, nextAt - (Date.now() - t0))));
    }
    const sendEnd = Date.now();

    // Drain: until every job finished or the drain timeout.
    while (completedAt.size + failed.size < sentAt.size && Date.now() - sendEnd < o.drainTimeoutMs) {
      await new Promise((r) => setTimeout(r, 200));
    }
    sampling = false;
    await sampler;

    const stats = await Promise.all(urls.map(async (u) => (await (await fetch(`${u}/_sim/stats`)).json()) as { rejected: number; max_waiting_seen: number }));
    const e2e = [...completedAt].map(([job, at]) => at - sentAt.get(job)!);
    const end = lastFinish || Date.now();
    return {
      sent: sentAt.size,
      completed: completedAt.size,
      failed: failed.size,
      completed_per_s: round(completedAt.size / Math.max(0.001, (end - t0) / 1000), 2),
      utilization_while_backlog: backlogSamples > 0 ? round(utilSum / backlogSamples, 3) : null,
      backlog_samples: backlogSamples,
      engine_queue_max: Math.max(queueMax, ...stats.map((s) => s.max_waiting_seen)),
      engine_queue_cap: e.maxWaiting,
      engine_rejected: stats.reduce((a, s) => a + s.rejected, 0),
      e2e_p50_ms: Math.round(percentile(e2e, 50)),
      e2e_p95_ms: Math.round(percentile(e2e, 95)),
      e2e_p99_ms: Math.round(percentile(e2e, 99)),
      rss_start_mb: round(rss[0] ?? 0, 1),
      rss_max_mb: round(Math.max(0, ...rss), 1),
      rss_end_mb: round(rss.at(-1) ?? 0, 1),
      rss_max_by_minute_mb: maxByMinute(rss, rssAt),
      heap_used_max_by_minute_mb: maxByMinute(heap, memAt, rssAt[0]),
      external_max_by_minute_mb: maxByMinute(external, memAt, rssAt[0]),
      lost: sentAt.size - completedAt.size,
      duplicated,
      wall_s: round((Date.now() - t0) / 1000, 1),
    };
  } finally {
    await collector.disconnect().catch(() => undefined);
    if (worker) await worker.stop();
    if (consumerProc && consumerProc.exitCode === null) {
      consumerProc.kill('SIGTERM');
      await new Promise((r) => consumerProc!.once('exit', r));
    }
    await Promise.all(engines.map((x) => x.stop()));
  }
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The largest sample of each minute since `start` (default: the first sample). */
function maxByMinute(values: number[], at: number[], start = at[0]): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const minute = Math.floor((at[i]! - start!) / 60_000);
    out[minute] = round(Math.max(out[minute] ?? 0, values[i]!), 1);
  }
  return Array.from(out, (v) => v ?? 0);
}
