import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Admin } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig } from '@llmgov/config';
import { createKafka } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform } from '@llmgov/platform';
import { loadSquad, type SquadDocument, type SquadQuestion } from '@llmgov/demo';
import { OutputCollector } from './collector.js';
import { scenarioByName, type FaultWindow, type Scenario } from './faults.js';
import { FINAL_STATES, duplicatedJobs, recoverySeconds, tallyJobs, type JobRow, type JobTally } from './figures.js';

export interface ChaosOptions {
  scenarios: string[];
  /** SQuAD v1.1-format file (questions become jobs, paragraphs documents). */
  input: string;
  /** Jobs submitted per second (open loop). */
  rate: number;
  /** Documents submitted per second (open loop). */
  docRate: number;
  /** Minimum load duration per scenario, in s; the load also runs at least `afterFaultS` past the fault's end. */
  durationS: number;
  /** When the fault starts, in s after the load starts (the time before it is the throughput baseline). */
  faultAtS: number;
  /** How long a timed fault lasts, in s. */
  faultS: number;
  /** Load kept up after the fault ends, at least, in s (the recovery is measured in it). */
  afterFaultS: number;
  /** Each job's latency budget (`budget.latency_ms`), in s. */
  deadlineS: number;
  /** Wait past the last job's deadline before a non-final job counts as lost, in s. */
  graceS: number;
  /** First service port. */
  basePort: number;
  logDir: string;
  /** Session timeout of the services' consumer groups (KAFKA_SESSION_TIMEOUT_MS), in ms: how long a killed member holds its partitions. */
  sessionTimeoutMs: number;
  progress?: (line: string) => void;
}

export interface ScenarioResult extends Omit<JobTally, 'by_state' | 'failure_codes'> {
  scenario: string;
  description: string;
  duplicated: number;
  dlq: number;
  recovery_s: number | null;
  submit_rejected: Record<string, number>;
  documents: { submitted: number; indexed: number; not_indexed: number };
  by_state: Record<string, number>;
  failure_codes: Record<string, number>;
  duplicates: ReturnType<typeof duplicatedJobs>['by_record'] & { examples: string[] };
  dlq_by_topic: Record<string, number>;
  dlq_errors: Record<string, number>;
  fault: { start_s: number; end_s: number; details: Record<string, unknown> };
  throughput_before_per_s: number;
  load_s: number;
  wait_s: number;
  restarts: Record<string, number>;
  error?: string;
}

export interface ChaosSummary {
  run_id: string;
  started_at: string;
  settings: Omit<ChaosOptions, 'progress' | 'scenarios' | 'logDir'>;
  scenarios: ScenarioResult[];
  wall_s: number;
}

// Tenants of their own: the documents the suite submits must never land in the demo tenants' index, where copies of
// the SQuAD paragraphs under other document ids would lower the demo's recall.
const API_KEYS: Record<string, string> = { 'chaos-a': 'chaos-key-tenant-a', 'chaos-b': 'chaos-key-tenant-b' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A spread of budgets like the demo's: mostly quality 0.5 (tier S), one in five 0.75 (M), one in twenty 0.95 (L). */
function minQuality(i: number): number {
  return i % 20 === 0 ? 0.95 : i % 5 === 0 ? 0.75 : 0.5;
}

/**
 * Runs the platform (bootstrap, engines, services under the supervisor) and, for each scenario in turn: an open-loop
 * load of SQuAD jobs and documents over HTTP, the fault at `faultAtS`, then a wait until every accepted job is final
 * or its deadline plus grace has passed; the figures come from the jobs table, the cost ledger and the Kafka topics.
 * @throws Error when the platform cannot start or a scenario name is unknown; a failing fault is reported in its result.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const scenarios = opts.scenarios.map(scenarioByName);
  const progress = opts.progress ?? (() => undefined);
  const runId = randomUUID().slice(0, 8);
  const t0 = Date.now();
  const root = repoRoot();
  const { documents, questions } = await loadSquad(opts.input, Object.keys(API_KEYS));
  if (questions.length === 0 || documents.length === 0) throw new Error(`${opts.input} holds no questions or paragraphs`);
  const config = loadPlatformConfig();
  await mkdir(opts.logDir, { recursive: true });
  const vectorDelayFile = path.join(opts.logDir, 'vector-store-delay-ms');
  await writeFile(vectorDelayFile, '0\n');
  await bootstrapPlatform(config);
  progress(`run ${runId}: starting engines and services (logs: ${opts.logDir})`);
  const platform = await startPlatform({
    config,
    basePort: opts.basePort,
    logDir: opts.logDir,
    env: {
      API_KEYS: Object.entries(API_KEYS)
        .map(([t, k]) => `${t}=${k}`)
        .join(','),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      KAFKA_SESSION_TIMEOUT_MS: String(opts.sessionTimeoutMs),
      VECTOR_STORE_FAULT_DELAY_FILE: vectorDelayFile,
    },
    onSupervisorEvent: (e) => progress(`supervisor: ${e.name} ${e.kind}: ${e.message}`),
  });
  const kafka = createKafka(`chaos-${runId}`, config.KAFKA_BROKERS, createLogger('chaos', 'error'));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const collector = new OutputCollector(kafka, registry);
  const db = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  // An idle client's "Connection terminated" during the Postgres outage must not kill the tool (see issue 7).
  db.on('error', () => undefined);
  const admin: Admin = kafka.admin();
  const results: ScenarioResult[] = [];
  try {
    await admin.connect();
    await collector.start(`chaos-trace-${runId}`);
    let cursor = { q: 0, d: 0 };
    for (const s of scenarios) {
      progress(`--- scenario ${s.name}: ${s.description}`);
      const r = await runScenario({ s, opts, runId, platform, collector, db, documents, questions, cursor, root, vectorDelayFile, progress });
      cursor = r.cursor;
      results.push(r.result);
      progress(
        `=== ${s.name}: submitted ${r.result.submitted}, final ${r.result.final}, completed ${r.result.completed}, failed_with_reason ${r.result.failed_with_reason}, ` +
          `lost ${r.result.lost}, duplicated ${r.result.duplicated}, dlq ${r.result.dlq}, recovery_s ${r.result.recovery_s ?? 'n/a'}`,
      );
    }
  } finally {
    await collector.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await db.end().catch(() => undefined);
    await platform.stop();
  }
  const { progress: _p, scenarios: _s, logDir: _l, ...settings } = opts;
  return { run_id: runId, started_at: new Date(t0).toISOString(), settings, scenarios: results, wall_s: (Date.now() - t0) / 1000 };
}

interface ScenarioInput {
  s: Scenario;
  opts: ChaosOptions;
  runId: string;
  platform: RunningPlatform;
  collector: OutputCollector;
  db: pg.Pool;
  documents: SquadDocument[];
  questions: SquadQuestion[];
  cursor: { q: number; d: number };
  root: string;
  vectorDelayFile: string;
  progress: (line: string) => void;
}

async function runScenario(x: ScenarioInput): Promise<{ result: ScenarioResult; cursor: { q: number; d: number } }> {
  const { s, opts, platform, collector, db, progress } = x;
  const api = platform.services.get('ingest-validator')!.url;
  const restartsBefore = platform.restarts();
  const dlqBefore = collector.dlq.length;
  const accepted: { id: string; at: number }[] = [];
  const docs: string[] = [];
  const rejected: Record<string, number> = {};
  const inflight = new Set<Promise<unknown>>();
  let q = x.cursor.q;
  let d = x.cursor.d;
  const reject = (why: string): void => {
    rejected[why] = (rejected[why] ?? 0) + 1;
  };
  const post = (pathname: string, tenant: string, body: unknown) =>
    fetch(`${api}${pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEYS[tenant]}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const submitJob = () => {
    const i = q++;
    const question = x.questions[i % x.questions.length]!;
    // A unique suffix, so that the exact-match cache does not answer without the engines.
    const body = {
      prompt: `${question.question} (chaos ${x.runId} #${i})`,
      idempotency_key: `chaos-${x.runId}-${i}`,
      budget: { latency_ms: opts.deadlineS * 1000, max_cost_usd: 0.05, min_quality: minQuality(i) },
      options: { max_tokens: 48, temperature: 0, rag: true },
      team: 'chaos',
      feature: s.name,
    };
    track(
      post('/v1/jobs', question.tenantId, body)
        .then(async (res) => {
          const b = (await res.json().catch(() => ({}))) as { id?: string };
          if (res.status === 202 && b.id) accepted.push({ id: b.id, at: Date.now() });
          else reject(`http_${res.status}`);
        })
        .catch((err: unknown) => reject((err as Error).name === 'TimeoutError' ? 'timeout' : 'network')),
    );
  };
  const submitDoc = () => {
    const i = d++;
    const doc = x.documents[i % x.documents.length]!;
    const id = `chaos-${x.runId}-d${i}`;
    track(
      post('/v1/documents', doc.tenantId, { document_id: id, text: doc.text, title: doc.title })
        .then((res) => {
          if (res.status === 202) docs.push(`${doc.tenantId}/${id}`);
          else reject(`doc_http_${res.status}`);
        })
        .catch(() => reject('doc_network')),
    );
  };

  // Open loop: a fixed arrival schedule that does not slow down with the platform.
  const loadStart = Date.now();
  let loadEnd = loadStart + opts.durationS * 1000;
  const jobTimer = setInterval(submitJob, 1000 / opts.rate);
  const docTimer = opts.docRate > 0 ? setInterval(submitDoc, 1000 / opts.docRate) : undefined;
  const ticker = setInterval(() => {
    progress(
      `[${s.name}] t=${((Date.now() - loadStart) / 1000).toFixed(0)}s accepted ${accepted.length} rejected ${Object.values(rejected).reduce((a, b) => a + b, 0)} docs ${docs.length} dlq ${collector.dlq.length - dlqBefore}`,
    );
  }, 10_000);
  let window: FaultWindow | undefined;
  let faultError: string | undefined;
  try {
    await sleep(opts.faultAtS * 1000);
    try {
      window = await s.inject({
        platform,
        repoRoot: x.root,
        vectorDelayFile: x.vectorDelayFile,
        faultMs: opts.faultS * 1000,
        progress: (l) => progress(`[${s.name}] ${l}`),
      });
    } catch (err) {
      faultError = (err as Error).message;
      progress(`[${s.name}] fault injection failed: ${faultError}`);
    }
    loadEnd = Math.max(loadEnd, Date.now() + opts.afterFaultS * 1000);
    await sleep(Math.max(0, loadEnd - Date.now()));
  } finally {
    clearInterval(jobTimer);
    if (docTimer) clearInterval(docTimer);
    clearInterval(ticker);
  }
  await Promise.allSettled([...inflight]);
  loadEnd = Date.now();

  // Wait until every accepted job is final, or the last deadline plus grace has passed.
  const ids = accepted.map((a) => a.id);
  const lastDeadline = Math.max(loadEnd, ...accepted.map((a) => a.at)) + (opts.deadlineS + opts.graceS) * 1000;
  let rows: Awaited<ReturnType<typeof readJobs>> = [];
  for (;;) {
    rows = await readJobs(db, ids).catch(() => rows);
    const open = ids.length - rows.filter((r) => FINAL_STATES.has(r.state)).length;
    const docsOpen = docs.filter((k) => !collector.indexedDocuments.has(k)).length;
    if ((open === 0 && docsOpen === 0) || Date.now() > lastDeadline) break;
    progress(`[${s.name}] waiting: ${open} jobs not final, ${docsOpen} documents not indexed`);
    await sleep(2000);
  }
  const waitS = (Date.now() - loadEnd) / 1000;
  // Let late duplicates (a second completion or ledger row after the job went final) show up before counting.
  await sleep(3000);
  rows = await readJobs(db, ids);
  const tally = tallyJobs(ids, rows);
  const ledger = await db.query<{ job_id: string; n: string }>(
    "SELECT job_id, count(*)::text AS n FROM cost_ledger WHERE kind = 'COMPLETION' AND job_id = ANY($1) GROUP BY job_id",
    [ids],
  );
  const dups = duplicatedJobs(ids, {
    completions: new Map([...collector.completions].map(([k, v]) => [k, v.size])),
    judged: new Map([...collector.judged].map(([k, v]) => [k, v.size])),
    ledgerRows: new Map(ledger.rows.map((r) => [r.job_id, Number(r.n)])),
  });
  const completedAt = rows.filter((r) => r.state === 'completed' && r.completedAtMs !== null).map((r) => r.completedAtMs!);
  const baselineFromMs = loadStart + Math.min(10_000, (opts.faultAtS * 1000) / 2);
  const faultStart = window?.startMs ?? loadStart + opts.faultAtS * 1000;
  const faultEnd = window?.endMs ?? faultStart;
  const recovery = recoverySeconds(completedAt, { baselineFromMs, faultStartMs: faultStart, faultEndMs: faultEnd, untilMs: Date.now() });
  const before = completedAt.filter((t) => t >= baselineFromMs && t < faultStart).length / ((faultStart - baselineFromMs) / 1000);
  const newDlq = collector.dlq.slice(dlqBefore);
  const dlqByTopic: Record<string, number> = {};
  const dlqErrors: Record<string, number> = {};
  for (const r of newDlq) {
    dlqByTopic[r.topic] = (dlqByTopic[r.topic] ?? 0) + 1;
    const k = `${r.service}: ${r.errorCode}: ${r.errorMessage.slice(0, 120)}`;
    dlqErrors[k] = (dlqErrors[k] ?? 0) + 1;
  }
  const restartsAfter = platform.restarts();
  const restarts = Object.fromEntries(
    Object.entries(restartsAfter)
      .filter(([k, v]) => v !== (restartsBefore[k] ?? 0))
      .map(([k, v]) => [k, v - (restartsBefore[k] ?? 0)]),
  );
  const notIndexed = docs.filter((k) => !collector.indexedDocuments.has(k)).length;
  const result: ScenarioResult = {
    scenario: s.name,
    description: s.description,
    submitted: tally.submitted,
    final: tally.final,
    completed: tally.completed,
    failed_with_reason: tally.failed_with_reason,
    failed_without_reason: tally.failed_without_reason,
    lost: tally.lost,
    missing: tally.missing,
    duplicated: dups.duplicated,
    dlq: newDlq.length,
    recovery_s: recovery,
    submit_rejected: rejected,
    documents: { submitted: docs.length, indexed: docs.length - notIndexed, not_indexed: notIndexed },
    by_state: tally.by_state,
    failure_codes: tally.failure_codes,
    duplicates: { ...dups.by_record, examples: dups.examples },
    dlq_by_topic: dlqByTopic,
    dlq_errors: dlqErrors,
    fault: { start_s: (faultStart - loadStart) / 1000, end_s: (faultEnd - loadStart) / 1000, details: window?.details ?? {} },
    throughput_before_per_s: Number(before.toFixed(2)),
    load_s: (loadEnd - loadStart) / 1000,
    wait_s: waitS,
    restarts,
    ...(faultError ? { error: faultError } : {}),
  };
  return { result, cursor: { q, d } };
}

async function readJobs(db: pg.Pool, ids: string[]): Promise<(JobRow & { completedAtMs: number | null })[]> {
  if (ids.length === 0) return [];
  const r = await db.query<{ job_id: string; state: string; error: JobRow['error']; completed_ms: string | null }>(
    'SELECT job_id::text AS job_id, state, error, (extract(epoch FROM completed_at) * 1000)::text AS completed_ms FROM jobs WHERE job_id = ANY($1::uuid[])',
    [ids],
  );
  return r.rows.map((row) => ({
    jobId: row.job_id,
    state: row.state,
    error: row.error,
    completedAtMs: row.completed_ms === null ? null : Number(row.completed_ms),
  }));
}
