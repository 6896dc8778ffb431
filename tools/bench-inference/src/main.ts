#!/usr/bin/env node
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { intArg, numArg } from '@llmgov/cli-args';
import cliProgress from 'cli-progress';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig } from '@llmgov/config';
import type { Tier } from '@llmgov/contracts';
import { AvroSerde, TopicNamespace, createKafka, deleteNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { bootstrapPlatform, repoRoot } from '@llmgov/platform';
import { readAzureTrace, window } from './trace.js';
import { runPhase, type ConsumerKind, type EngineSettings, type PhaseResult } from './phase.js';

const program = new Command('bench-inference')
  .description(
    'Replays an Azure LLM inference trace (arrival times, context and generated tokens) into the routed topic at X times real speed ' +
      'for S seconds against a pool of local engines, twice: through the inference worker, then through a naive consumer ' +
      '(kafkajs eachMessage sending every request at once). Prints a table and writes JSON. See bench/README.md.',
  )
  .option(
    '--trace <path>',
    'trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens)',
    path.resolve(repoRoot(), '../shared/data/azure-llm-inference-trace-2023-conv.csv'),
  )
  .option('--speed <x>', 'replay speed, times real time', numArg(0.01), 4)
  .option('--duration <s>', 'seconds of (sped-up) trace to replay', numArg(1), 30)
  .option('--summary <path>', 'write the results as JSON here')
  .addOption(new Option('--only <consumer>', 'run one phase only').choices(['worker', 'naive']))
  .option('--engines <n>', 'engine processes in the pool', intArg(2), 2)
  .option('--max-num-seqs <n>', "engines' running-batch size", intArg(1), 16)
  .option('--max-waiting <n>', "engines' waiting-queue cap (503 beyond)", intArg(0), 64)
  .option('--kv-cache-tokens <n>', "engines' KV capacity, tokens", intArg(1024), 262_144)
  .option('--prefill-ms-per-token <ms>', 'engine prefill time per prompt token', numArg(0), 0.02)
  .option('--decode-base-ms <ms>', 'engine decode step base time', numArg(0), 8)
  .option('--decode-ms-per-seq <ms>', 'engine decode step time per running sequence', numArg(0), 0.5)
  .option('--headroom <n>', 'worker: in-flight calls per endpoint beyond max_num_seqs', intArg(0), 4)
  .option(
    '--worker-env <KEY=VALUE>',
    'extra environment for the worker process, repeatable (memory experiments: MALLOC_ARENA_MAX=2, NODE_OPTIONS=...)',
    (v: string, acc: Record<string, string>) => {
      const i = v.indexOf('=');
      if (i < 1) throw new InvalidArgumentError('expected KEY=VALUE');
      return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
    },
    {} as Record<string, string>,
  )
  .option('--drain-timeout <s>', 'stop waiting for results this long after the last request', numArg(1), 900);
program.parse();
const o = program.opts<
  Omit<EngineSettings, 'count'> & {
    trace: string;
    speed: number;
    duration: number;
    summary?: string;
    only?: ConsumerKind;
    engines: number;
    headroom: number;
    drainTimeout: number;
    workerEnv: Record<string, string>;
  }
>();

const tier: Tier = 'S';
const engines: EngineSettings = {
  count: o.engines,
  maxNumSeqs: o.maxNumSeqs,
  maxWaiting: o.maxWaiting,
  kvCacheTokens: o.kvCacheTokens,
  prefillMsPerToken: o.prefillMsPerToken,
  decodeBaseMs: o.decodeBaseMs,
  decodeMsPerSeq: o.decodeMsPerSeq,
};
const config = loadPlatformConfig();
const root = repoRoot();
const logDir = path.join(root, '.local', 'logs', 'bench');
mkdirSync(logDir, { recursive: true });
const trace = readAzureTrace(o.trace);
const schedule = window(trace, o.speed, o.duration);
if (schedule.length === 0) {
  console.error(`no request of ${o.trace} arrives within ${o.duration} s at ${o.speed}x`);
  process.exit(2);
}
const run =
  new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14) + Math.random().toString(36).slice(2, 6);
console.log(
  `[bench] ${path.basename(o.trace)}: ${schedule.length} requests in ${o.duration} s at ${o.speed}x ` +
    `(${(schedule.length / o.duration).toFixed(1)} req/s); pool: ${o.engines} engines x max_num_seqs ${o.maxNumSeqs}, queue cap ${o.maxWaiting}`,
);

// The run's own Kafka namespace: its topics and groups never feed or move the live platform's, and are deleted at the end.
const namespace = new TopicNamespace(`bench.${run}.`);
await bootstrapPlatform({ ...config, KAFKA_TOPIC_PREFIX: namespace.prefix });
const kafka = createKafka('bench-inference', config.KAFKA_BROKERS, createLogger('bench-inference', 'error'));
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const serde = new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }));

/** Progress: a live bar on a terminal, else one line every 10 s (CI logs). */
const tty = process.stderr.isTTY === true;
const bar = new cliProgress.SingleBar(
  { format: '[bench] {phase} sent {sent}/{total} finished {finished} | engines running {running} waiting {waiting}', hideCursor: true },
  cliProgress.Presets.shades_classic,
);
let lastLine = 0;
const progress = (p: { phase: string; sent: number; total: number; finished: number; running: number; waiting: number }): void => {
  if (tty) return bar.update(p.finished, p);
  if (Date.now() - lastLine < 10_000) return;
  lastLine = Date.now();
  console.error(`[bench] ${p.phase} sent ${p.sent}/${p.total} finished ${p.finished} | engines running ${p.running} waiting ${p.waiting}`);
};

const results: Partial<Record<ConsumerKind, PhaseResult>> = {};
const phases: ConsumerKind[] = o.only ? [o.only] : ['worker', 'naive'];
try {
  for (const kind of phases) {
    if (tty) bar.start(schedule.length, 0, { phase: kind, sent: 0, total: schedule.length, finished: 0, running: 0, waiting: 0 });
    results[kind] = await runPhase({
      kind,
      run,
      namespace,
      config,
      kafka,
      producer,
      serde,
      schedule,
      tier,
      engines,
      workerHeadroom: o.headroom,
      drainTimeoutMs: o.drainTimeout * 1000,
      workerEnv: o.workerEnv,
      logDir,
      basePort: 18400,
      onProgress: progress,
    });
    if (tty) bar.stop();
  }
} finally {
  if (tty) bar.stop();
  await producer.disconnect();
  const deleted = await deleteNamespace(kafka, namespace.prefix).catch((err: unknown) => {
    console.error(`[bench] could not delete the namespace ${namespace.prefix}: ${(err as Error).message}`);
    return { topics: [], groups: [] };
  });
  console.log(`[bench] deleted namespace ${namespace.prefix}: ${deleted.topics.length} topics, ${deleted.groups.length} consumer groups`);
}

const keys = Object.keys(results.worker ?? results.naive ?? {}) as (keyof PhaseResult)[];
const rows = keys.map((k) => [k, String(results.worker?.[k] ?? '-'), String(results.naive?.[k] ?? '-')]);
const widths = [0, 1, 2].map((c) => Math.max(...[['metric', 'worker', 'naive'], ...rows].map((r) => r[c]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\ninference benchmark: ${o.speed}x for ${o.duration} s, ${schedule.length} requests`);
console.log(line(['metric', 'worker', 'naive']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));

if (o.summary) {
  mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
  writeFileSync(
    o.summary,
    `${JSON.stringify({ trace: o.trace, speed: o.speed, duration_s: o.duration, requests: schedule.length, engines: { count: o.engines, max_num_seqs: o.maxNumSeqs, max_waiting: o.maxWaiting, decode_base_ms: o.decodeBaseMs, decode_ms_per_seq: o.decodeMsPerSeq, prefill_ms_per_token: o.prefillMsPerToken, kv_cache_tokens: o.kvCacheTokens }, worker_headroom: o.headroom, worker_env: o.workerEnv, ...results }, null, 2)}\n`,
  );
  console.log(`[bench] summary written to ${o.summary}`);
}
process.exit(0);
