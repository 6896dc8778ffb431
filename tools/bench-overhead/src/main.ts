#!/usr/bin/env node
/**
 * bench-overhead: the control plane's own latency. Starts the platform (engines included) in the run's own Kafka
 * namespace, drives `POST /v1/jobs` at a fixed arrival rate (open loop: arrivals follow the schedule whatever the
 * server does, and latency counts from the scheduled time), and measures per job:
 * - HTTP accept latency (scheduled send → 202 received);
 * - submit → dispatch to the engine: scheduled send → the inference worker's `sentAt` (the moment it calls the
 *   engine; `routed.occurred_at + completed.timings.queue_ms`), so no model time is in it;
 * - the stages in between, from each record's Kafka timestamp (CreateTime: the publishing client's clock when it
 *   sent the record): scheduled → submitted published (HTTP handler, job insert) → validated published → routed
 *   published → dispatched. (`occurred_at` will not do for them: the validated record carries the submitted one's.)
 * In the same run, a bare kafkajs produce → consume of the same payload size at the same rate on the same broker.
 * By default the router decides under a policy (`--policy`, applied and activated in the run's own policy namespace,
 * with the bench tenant added as a copy of the policy's first tenant): classifier, exact cache, budget reservation and
 * retrieval over SQuAD paragraphs the run indexes first; `--no-policy` and `--no-rag` measure without them. The policy
 * engine's own decision time (`router_policy_decision_seconds`) and the rule ids that fired are read from the router.
 * Prints figures; asserts nothing. See bench/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readSquadFile } from '@llmgov/judging';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { numArg } from '@llmgov/cli-args';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import cliProgress from 'cli-progress';
import pg from 'pg';
import type { Admin } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import {
  RoutedTopics,
  Topics,
  topicSpec,
  type InferenceCompleted,
  type InferenceRequestRouted,
  type InferenceRequestSubmitted,
  type InferenceRequestValidated,
  type JobStatusChanged,
} from '@llmgov/contracts';
import { AvroSerde, TopicNamespace, createKafka, deleteNamespace, ensureTopics, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger, percentile } from '@llmgov/observability';
import { parsePolicyText, type PolicyDocument } from '@llmgov/policy';
import {
  activatePolicyFile,
  bootstrapPlatform,
  cpuSeconds,
  loadAverage,
  repoRoot,
  stackPids,
  startPlatform,
  treeCpuSeconds,
  type RunningPlatform,
} from '@llmgov/platform';
import { counterBy, handlerMeans, histogramSummary, readAll, type HistogramSummary } from './collect.js';

const program = new Command('bench-overhead')
  .description(
    'Drives POST /v1/jobs at a fixed arrival rate (open loop) against the platform it starts (engines included) in its own ' +
      'Kafka namespace, and prints HTTP accept latency, submit → dispatch-to-engine latency (no model time) and its stages ' +
      '(p50/p95/p99), next to a bare kafkajs produce → consume of the same payload size on the same broker in the same run.',
  )
  .option('--rps <r>', 'arrival rate, requests per second', numArg(1), 50)
  .option('--duration <s>', 'seconds of load', numArg(1), 30)
  .option('--max-tokens <n>', 'max_tokens of each job (small: the engine time is not what is measured)', numArg(1), 1)
  .option('--warmup <n>', 'jobs sent and awaited before the measured load', numArg(0), 20)
  .option('--drain-timeout <s>', 'stop waiting for dispatches this long after the last request', numArg(1), 120)
  .option('--policy <path>', "policy file the router decides with (applied and activated in the run's own policy namespace)", 'infra/policies/local.yaml')
  .option('--no-policy', 'route with the built-in tier rule instead of a policy')
  .option('--no-rag', 'jobs ask for no retrieval (and no documents are indexed)')
  .option('--documents <n>', 'SQuAD paragraphs indexed for the bench tenant before the load (with RAG)', numArg(1), 20)
  .option('--input <path>', 'SQuAD v1.1-format file: paragraphs to index and questions to ask', '../shared/data/squad-v1.1-dev-subset.json')
  .option('--cpu-prof <dir>', 'write V8 CPU profiles of the services (node --cpu-prof) into this folder')
  .option('--summary <path>', 'write the results as JSON here')
  .option('--json', 'print the results as JSON instead of a table');
program.parse();
const o = program.opts<{
  rps: number;
  duration: number;
  maxTokens: number;
  warmup: number;
  drainTimeout: number;
  cpuProf?: string;
  policy: string | false;
  rag: boolean;
  documents: number;
  input: string;
  summary?: string;
  json?: boolean;
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
/** The run's own policy namespace: the live routers (namespace `default`) never see the bench's policy. */
const POLICY_NAMESPACE = `bench-${run}`;
const API_KEY = `bench-key-${run}`;
const log = (msg: string): void => void (o.json ? process.stderr : process.stdout).write(`[bench-overhead] ${msg}\n`);
const epochNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tty = process.stderr.isTTY === true && !o.json;
const bar = new cliProgress.SingleBar({ format: '[bench-overhead] {phase} {value}/{total}', hideCursor: true }, cliProgress.Presets.shades_classic);
let lastLine = 0;
const progress = (phase: string, value: number, total: number): void => {
  if (tty) return bar.update(value, { phase });
  if (Date.now() - lastLine < 5_000) return;
  lastLine = Date.now();
  process.stderr.write(`[bench-overhead] ${phase} ${value}/${total}\n`);
};

/** One submitted job, client side. Times are epoch ms. */
interface Sent {
  scheduledAt: number;
  sentAt: number;
  answeredAt: number;
  status: number;
  jobId?: string;
  requestBytes: number;
}

const stats = (xs: number[]): { n: number; p50: number; p95: number; p99: number; max: number } => ({
  n: xs.length,
  p50: round1(percentile(xs, 50)),
  p95: round1(percentile(xs, 95)),
  p99: round1(percentile(xs, 99)),
  max: round1(xs.length ? Math.max(...xs) : Number.NaN),
});
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Paragraphs (the first `paragraphs`, to index) and every question of a SQuAD v1.1-format file. */
async function loadSquad(file: string, paragraphs: number): Promise<{ documents: { id: string; title: string; text: string }[]; questions: string[] }> {
  const all = (await readSquadFile(file)).data.flatMap((a, ai) =>
    a.paragraphs.map((p, pi) => ({ id: `bench-${run}-a${ai}-p${pi}`, title: a.title, text: p.context, qas: p.qas })),
  );
  // Every question of the file, not only those of the indexed paragraphs: each job asks a different question (until
  // the file's questions run out), so neither cache layer answers the load and every job is dispatched.
  return {
    documents: all.slice(0, paragraphs).map(({ id, title, text }) => ({ id, title, text })),
    questions: all.flatMap((p) => p.qas.map((q) => q.question)),
  };
}
const squad = await loadSquad(path.resolve(root, o.input), o.documents);

async function submit(api: string, i: number, scheduledAt: number): Promise<Sent> {
  const question = squad.questions[Math.abs(i) % squad.questions.length]!;
  const body = JSON.stringify({
    // A unique prompt per job: a repeated one would be answered from the router's exact cache, never dispatched.
    prompt: `${question} (overhead probe ${run}-${i})`,
    budget: { latency_ms: 60_000, max_cost_usd: 1, min_quality: 0 },
    options: { max_tokens: o.maxTokens, temperature: 0, rag: o.rag, tier_hint: 'S' },
    team: 'bench',
    feature: 'overhead',
  });
  const sentAt = epochNow();
  try {
    const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body });
    const json = (await res.json().catch(() => ({}))) as { id?: string };
    return { scheduledAt, sentAt, answeredAt: epochNow(), status: res.status, jobId: json.id, requestBytes: body.length };
  } catch {
    return { scheduledAt, sentAt, answeredAt: epochNow(), status: 0, requestBytes: body.length };
  }
}

/** Fires `n` calls of `fire(i, scheduledAt)` at `rps`, open loop: each on its schedule, none waiting for another. */
async function openLoop<T>(n: number, rps: number, phase: string, fire: (i: number, scheduledAt: number) => Promise<T>): Promise<T[]> {
  const interval = 1000 / rps;
  const t0 = epochNow() + 50;
  const pending: Promise<T>[] = [];
  let done = 0;
  if (tty) bar.start(n, 0, { phase });
  for (let i = 0; i < n; i++) {
    const at = t0 + i * interval;
    const wait = at - epochNow();
    if (wait >= 1) await sleep(wait); // timers fire late, never early; a late tick sends what is due at once
    pending.push(fire(i, at).finally(() => progress(phase, ++done, n)));
  }
  const out = await Promise.all(pending);
  if (tty) bar.stop();
  return out;
}

async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}

const topicRetry = retry(handleAll, { maxAttempts: 5, backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 5_000 }) });
const kafka = createKafka('bench-overhead', live.KAFKA_BROKERS, createLogger('bench-overhead', 'error'));
const admin = kafka.admin();
const serde = new AvroSerde(new SchemaRegistry({ host: live.SCHEMA_REGISTRY_URL }));
const db = new pg.Pool({ connectionString: live.DATABASE_URL, max: 2 });
const stack = stackPids(root);
let platform: RunningPlatform | undefined;
let summary: Record<string, unknown> | undefined;

try {
  const loadBefore = loadAverage();
  log(`run ${run}: namespace ${ns.prefix}; ${o.rps} req/s for ${o.duration} s; load ${JSON.stringify(loadBefore)}`);
  await bootstrapPlatform(config);
  await admin.connect();
  const profDir = o.cpuProf ? path.resolve(o.cpuProf) : undefined;
  const policyVersion = o.policy === false ? null : await activateBenchPolicy(path.resolve(root, o.policy));
  if (policyVersion !== null) log(`policy ${o.policy} active as version ${policyVersion} of policy namespace ${POLICY_NAMESPACE}`);
  platform = await startPlatform({
    config,
    policy: policyVersion !== null,
    basePort: 18800,
    logDir: path.join(root, '.local', 'logs', 'bench'),
    env: {
      API_KEYS: `${TENANT}=${API_KEY}`,
      LOG_LEVEL: 'warn',
      POLICY_NAMESPACE,
      ...(profDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } : {}),
    },
    onStarted: (p) => log(`ready ${p.name}`),
  });
  const api = platform.services.get('ingest-validator')!.url;
  const completedTopic = ns.wire(Topics.inferenceCompleted);
  if (o.rag) await indexDocuments(api);

  // Warm-up: connections, JIT, schema caches; awaited to dispatch before the measured load.
  if (o.warmup > 0) {
    const before = await endOffsetSum(admin, completedTopic);
    const warm = await Promise.all(Array.from({ length: o.warmup }, (_, i) => submit(api, -1 - i, epochNow())));
    const ok = warm.filter((w) => w.status === 202).length;
    const deadline = Date.now() + 120_000;
    while ((await endOffsetSum(admin, completedTopic)) - before < ok && Date.now() < deadline) await sleep(200);
    log(`warm-up: ${ok}/${o.warmup} accepted and completed`);
  }
  const completedBefore = await endOffsetSum(admin, completedTopic);

  // CPU of every component over the load and its drain.
  const components: Record<string, number[]> = {
    ...Object.fromEntries([...platform.services].map(([name, p]) => [name, [p.child.pid!]])),
    engines: platform.engines.map((e) => e.child.pid!),
    kafka: stack.kafka ? [stack.kafka] : [],
    redis: stack.redis ? [stack.redis] : [],
    registry: stack.registry ? [stack.registry] : [],
    'bench (this process)': [process.pid],
  };
  const cpuNow = (): Record<string, number> => ({
    ...Object.fromEntries(Object.entries(components).map(([k, pids]) => [k, pids.reduce((s, p) => s + cpuSeconds(p), 0)])),
    postgres: treeCpuSeconds(stack.postgres),
  });
  const cpu0 = cpuNow();
  const loadStart = Date.now();

  // The measured load.
  const n = Math.round(o.rps * o.duration);
  const sent = await openLoop(n, o.rps, `${o.rps} req/s`, (i, at) => submit(api, i, at));
  const accepted = sent.filter((s) => s.status === 202 && s.jobId);
  const lastSend = Date.now();
  log(
    `sent ${n}: ${accepted.length} accepted (202), ${n - accepted.length} not (${[...new Set(sent.filter((s) => s.status !== 202).map((s) => s.status))].join(', ') || 'none'})`,
  );

  // Drain: until every accepted job completed (dispatch precedes completion) or the drain timeout.
  if (tty) bar.start(accepted.length, 0, { phase: 'waiting for dispatch' });
  for (;;) {
    const c = (await endOffsetSum(admin, completedTopic)) - completedBefore;
    progress('waiting for completions', c, accepted.length);
    if (c >= accepted.length || Date.now() - lastSend > o.drainTimeout * 1000) break;
    await sleep(250);
  }
  if (tty) bar.stop();
  const cpu1 = cpuNow();
  // Per-stage handler time (decode + handler + publish, retries included), from every service's own metrics.
  const handlerMeanMs: Record<string, number> = {};
  for (const [name, p] of platform.services) {
    const text = await fetch(`${p.url}/metrics`)
      .then((r) => r.text())
      .catch(() => '');
    for (const [topic, ms] of Object.entries(handlerMeans(text))) handlerMeanMs[`${name} ${topic}`] = ms;
  }
  // The policy engine's own time per decision and the rules that fired, from the router's metrics.
  const routerMetrics = await fetch(`${platform.services.get('router')!.url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const policyDecisionMs = histogramSummary(routerMetrics, 'router_policy_decision_seconds', 1000) ?? null;
  const decisionReasons = counterBy(routerMetrics, 'router_policy_decision_reasons_total', 'reason');
  const loadAfter = loadAverage();
  const wallS = (Date.now() - loadStart) / 1000;

  // Per-job stage times from the pipeline's own records (read after the load).
  const submittedAt = new Map<string, number>();
  const validatedAt = new Map<string, number>();
  const routedAt = new Map<string, number>();
  const routedOccurredAt = new Map<string, number>();
  const dispatchedAt = new Map<string, number>();
  const failed = new Set<string>();
  await readAll(
    kafka,
    admin,
    serde,
    ns.wire(`reader-${run}`),
    [ns.wire(Topics.inferenceSubmitted), ns.wire(Topics.inferenceValidated), ...Object.values(RoutedTopics).map((t) => ns.wire(t)), ns.wire(Topics.jobStatus)],
    (topic, v, timestamp) => {
      if (topic === ns.wire(Topics.inferenceSubmitted)) {
        const r = v as InferenceRequestSubmitted;
        if (!submittedAt.has(r.job_id)) submittedAt.set(r.job_id, timestamp);
      } else if (topic === ns.wire(Topics.inferenceValidated)) {
        const r = v as InferenceRequestValidated;
        if (!validatedAt.has(r.job_id)) validatedAt.set(r.job_id, timestamp);
      } else if (topic === ns.wire(Topics.jobStatus)) {
        const r = v as JobStatusChanged;
        if (r.state === 'failed' || r.state === 'expired') failed.add(r.job_id);
      } else {
        const r = v as InferenceRequestRouted;
        if (!routedAt.has(r.job_id)) {
          routedAt.set(r.job_id, timestamp);
          routedOccurredAt.set(r.job_id, r.occurred_at);
        }
      }
    },
  );
  // Dispatch time: the worker's sentAt = routed occurred_at + queue_ms (inference.service.ts), read once routed is known.
  await readAll(kafka, admin, serde, ns.wire(`reader2-${run}`), [completedTopic], (_t, v) => {
    const r = v as InferenceCompleted;
    const routed = routedOccurredAt.get(r.job_id);
    if (routed !== undefined && !r.from_cache && r.timings.queue_ms !== null) dispatchedAt.set(r.job_id, routed + r.timings.queue_ms);
  });

  const acceptMs = sent.filter((s) => s.status === 202).map((s) => s.answeredAt - s.scheduledAt);
  const sendLagMs = sent.map((s) => s.sentAt - s.scheduledAt);
  const stage = (from: (s: Sent) => number | undefined, to: (id: string) => number | undefined): number[] =>
    accepted.flatMap((s) => {
      const a = from(s);
      const b = to(s.jobId!);
      return a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) ? [b - a] : [];
    });
  const submitToDispatch = stage(
    (s) => s.scheduledAt,
    (id) => dispatchedAt.get(id),
  );
  const stages = {
    http_accept_ms: stats(acceptMs),
    submit_to_dispatch_ms: stats(submitToDispatch),
    // Scheduled send → the API handler published the submitted record: HTTP queueing, parsing, auth, validation, job insert.
    scheduled_to_submitted_ms: stats(
      stage(
        (s) => s.scheduledAt,
        (id) => submittedAt.get(id),
      ),
    ),
    submitted_to_validated_ms: stats(
      accepted.flatMap((s) => (submittedAt.has(s.jobId!) && validatedAt.has(s.jobId!) ? [validatedAt.get(s.jobId!)! - submittedAt.get(s.jobId!)!] : [])),
    ),
    validated_to_routed_ms: stats(
      accepted.flatMap((s) => (validatedAt.has(s.jobId!) && routedAt.has(s.jobId!) ? [routedAt.get(s.jobId!)! - validatedAt.get(s.jobId!)!] : [])),
    ),
    routed_to_dispatched_ms: stats(
      accepted.flatMap((s) => (routedAt.has(s.jobId!) && dispatchedAt.has(s.jobId!) ? [dispatchedAt.get(s.jobId!)! - routedAt.get(s.jobId!)!] : [])),
    ),
    client_send_lag_ms: stats(sendLagMs),
  };

  // Baseline: bare kafkajs produce → consume of the same payload size, same rate, same broker, acks = all.
  const payloadBytes = (await serde.encode(Topics.inferenceSubmitted, sampleSubmitted())).length;
  const baselineTopic = ns.wire('bench.baseline.v1');
  // A new topic's leader election can lag behind createTopics on a busy broker (UNKNOWN_TOPIC_OR_PARTITION): retried.
  await topicRetry.execute(() =>
    ensureTopics(kafka, [{ topic: baselineTopic, numPartitions: topicSpec(Topics.inferenceSubmitted).partitions, replicationFactor: 1 }]),
  );
  const baseline = await kafkaBaseline(baselineTopic, payloadBytes, n);

  const cpuMsPerJob = Object.fromEntries(
    Object.entries(cpu1).map(([k, v]) => [k, Math.round(((v - cpu0[k]!) * 1000 * 100) / Math.max(1, accepted.length)) / 100]),
  );
  const cpuCoresBusy = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, Math.round(((v - cpu0[k]!) / wallS) * 100) / 100]));
  summary = {
    run,
    rps: o.rps,
    duration_s: o.duration,
    max_tokens: o.maxTokens,
    sent: n,
    accepted: accepted.length,
    dispatched: submitToDispatch.length,
    failed: accepted.filter((s) => failed.has(s.jobId!)).length,
    payload_bytes: payloadBytes,
    ...stages,
    kafka_baseline_produce_to_consume_ms: baseline,
    handler_mean_ms: handlerMeanMs,
    cpu_ms_per_job: cpuMsPerJob,
    cpu_cores_busy: cpuCoresBusy,
    wall_s: round1(wallS),
    load_before: loadBefore,
    load_after: loadAfter,
    policy: policyVersion === null ? null : { file: o.policy, version: policyVersion, namespace: POLICY_NAMESPACE },
    rag: o.rag,
    documents_indexed: o.rag ? squad.documents.length : 0,
    policy_decision_ms: policyDecisionMs,
    decision_reasons: decisionReasons,
    target: 'submit_to_dispatch p95 <= 25 ms at 200 req/s',
  };
} finally {
  await platform?.stop();
  await admin.disconnect().catch(() => undefined);
  await db.query('DELETE FROM jobs WHERE tenant_id = $1', [TENANT]).catch((err: unknown) => log(`could not delete the bench jobs: ${(err as Error).message}`));
  await db.query('DELETE FROM cost_ledger WHERE tenant_id = $1', [TENANT]).catch(() => undefined);
  await db.query('DELETE FROM documents WHERE tenant_id = $1', [TENANT]).catch(() => undefined);
  if (o.policy !== false) {
    for (const table of ['policy_activations', 'policy_version_templates', 'policy_versions'])
      await db
        .query(`DELETE FROM ${table} WHERE namespace = $1`, [POLICY_NAMESPACE])
        .catch((err: unknown) => log(`could not delete ${table} rows: ${(err as Error).message}`));
  }
  await db.end();
  const deleted = await deleteNamespace(kafka, ns.prefix).catch((err: unknown) => {
    log(`could not delete the namespace ${ns.prefix}: ${(err as Error).message}`);
    return { topics: [], groups: [] };
  });
  log(`deleted namespace ${ns.prefix}: ${deleted.topics.length} topics, ${deleted.groups.length} consumer groups`);
}

/**
 * The bench's policy: the file's document with the bench tenant added as a copy of its first tenant (same routes and
 * SLO classes) and a month budget of 1000 USD, so reservations run against a real limit without ever refusing; applied
 * and activated with `llmgov` in the run's own policy namespace (the router of the run follows it, ADR 0007).
 */
async function activateBenchPolicy(file: string): Promise<number> {
  const doc: PolicyDocument = parsePolicyText(readFileSync(file, 'utf8'), file);
  const [first] = Object.values(doc.tenants);
  if (first === undefined) throw new Error(`${file} declares no tenant to copy for the bench`);
  const benchDoc = {
    ...doc,
    tenants: { ...doc.tenants, [TENANT]: { ...first, description: 'bench-overhead tenant (a copy of the first tenant)' } },
    budgets: [...doc.budgets, { tenant: TENANT, period: 'month', limit_usd: 1000, alert_at: 0.8, throttle: 'degrade' }],
  };
  const dir = path.join(root, '.local', 'bench');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `policy-${run}.json`);
  writeFileSync(out, JSON.stringify(benchDoc, null, 2));
  return activatePolicyFile(out, { namespace: POLICY_NAMESPACE, promptsDir: path.join(root, 'infra', 'prompts'), comment: `bench-overhead ${run}` });
}

/**
 * Indexes the SQuAD paragraphs for the bench tenant (POST /v1/documents), then waits until the pipeline is quiet: every
 * document validated, and as many index statuses as embedded chunks, unchanged over two polls (the run's topics hold
 * nothing else). Bounded by 180 s; a partial index only makes retrieval cheaper, which the log says.
 */
async function indexDocuments(api: string): Promise<void> {
  for (const d of squad.documents) {
    const res = await fetch(`${api}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ document_id: d.id, title: d.title, text: d.text }),
    });
    if (res.status !== 202) throw new Error(`POST /v1/documents ${d.id}: HTTP ${res.status} ${await res.text()}`);
  }
  const deadline = Date.now() + 180_000;
  let last = -1;
  for (;;) {
    const validated = await endOffsetSum(admin, ns.wire(Topics.documentValidated));
    const embedded = await endOffsetSum(admin, ns.wire(Topics.chunkEmbedded));
    const indexed = await endOffsetSum(admin, ns.wire(Topics.indexStatus));
    progress('indexing documents', Math.min(validated, squad.documents.length), squad.documents.length);
    const quiet = validated >= squad.documents.length && embedded > 0 && indexed >= embedded && indexed === last;
    if (quiet) return log(`indexed ${squad.documents.length} documents: ${indexed} chunks`);
    if (Date.now() > deadline)
      return log(`indexing not finished after 180 s (${validated} documents validated, ${indexed}/${embedded} chunks); measuring anyway`);
    last = indexed;
    await sleep(1_000);
  }
}

function sampleSubmitted() {
  const id = `00000000-0000-4000-8000-${randomBytes(6).toString('hex')}`;
  return {
    ...newEnvelope(TENANT, id),
    job_id: id,
    idempotency_key: null,
    prompt: `Overhead probe ${run}-0000: what is the capital of France?`,
    system_prompt: null,
    budget: { latency_ms: 60_000, max_cost_usd: 1, min_quality: 0 },
    options: { max_tokens: o.maxTokens, temperature: 0, rag: o.rag, tier_hint: 'S' },
    team: 'bench',
    feature: 'overhead',
    metadata: {},
  };
}

/** Produce → consume latency of `n` records of `bytes` bytes at the benchmark's rate (open loop), acks = all. */
async function kafkaBaseline(topic: string, bytes: number, n: number): Promise<ReturnType<typeof stats>> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: ns.wire(`baseline-${run}`), maxWaitTimeInMs: 100 });
  const scheduled = new Map<string, number>();
  const latencies: number[] = [];
  let all: () => void = () => undefined;
  const allConsumed = new Promise<void>((resolve) => (all = resolve));
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = scheduled.get(message.key!.toString());
      if (at !== undefined) latencies.push(epochNow() - at);
      if (latencies.length >= n) all();
    },
  });
  await joined;
  const padding = randomBytes(Math.max(0, bytes));
  await openLoop(n, o.rps, 'kafka baseline', async (i, at) => {
    scheduled.set(String(i), at);
    await producer.send({ topic, acks: -1, messages: [{ key: String(i), value: padding }] });
  });
  await Promise.race([allConsumed, sleep(60_000)]);
  await consumer.disconnect();
  await producer.disconnect();
  return stats(latencies);
}

if (o.json) console.log(JSON.stringify(summary, null, 2));
else if (summary) {
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(summary)) {
    if (v && typeof v === 'object' && 'count' in v && 'mean' in v) {
      const h = v as HistogramSummary;
      rows.push([k, `p50 ${h.p50}  p95 ${h.p95}  p99 ${h.p99}  mean ${h.mean}  (n ${h.count})`]);
    } else if (v && typeof v === 'object' && 'p95' in v) {
      const s = v as ReturnType<typeof stats>;
      rows.push([k, `p50 ${s.p50}  p95 ${s.p95}  p99 ${s.p99}  max ${s.max}  (n ${s.n})`]);
    } else rows.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\ncontrol-plane overhead: ${o.rps} req/s for ${o.duration} s`);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
if (o.summary && summary) {
  mkdirSync(path.dirname(path.resolve(o.summary)), { recursive: true });
  writeFileSync(o.summary, `${JSON.stringify(summary, null, 2)}\n`);
  log(`summary written to ${o.summary}`);
}
process.exit(summary ? 0 : 1);
