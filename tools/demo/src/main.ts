#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig } from '@llmgov/config';
import { Topics, dlqTopic, topicCatalog, type DocumentSubmitted } from '@llmgov/contracts';
import { AvroSerde, EventPublisher, createKafka, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { activatePolicyFile, bootstrapPlatform, ENGINE_KINDS, repoRoot, runLlmgov, startPlatform, SERVICE_NAMES, type EngineKind } from '@llmgov/platform';
import { loadSquad, type SquadQuestion } from './squad.js';
import { TraceCollector } from './trace-collector.js';
import { submitAndWait, workerPool, type JobView } from '@llmgov/jobs-client';
import { budgetFor, routeFor } from './workload-mix.js';
import { percentile, recallAtK } from './stats.js';
import { aggregateScores, scoreAnswer, type AnswerScores } from '@llmgov/judging';
import { SemanticCacheRecords, createRedis } from '@llmgov/persistence';
import { INTENT_REASON_PREFIX, intentOfReasons } from '@llmgov/policy';
import { cacheSummary, calibrateSemanticCache, followUps, type CacheSummary } from './cache-workload.js';

/**
 * Default questions per engine. With real models on a 2-core machine one answer takes about a second of both cores
 * (prompt processing dominates), so the default run stays within 10 minutes after set-up; see README "The main job".
 */
const DEFAULT_QUESTIONS = { llama: 150, sim: 500 } as const;
/** With the demo's policy: tenant-b's contract-review route gets 0.01 USD a day (a few of its jobs). */
const DEFAULT_ROUTE_BUDGETS = ['tenant-b/contract-review=0.01'];
/**
 * Jobs open at once. Real engines serve about one answer per second each, so more open jobs only queue longer: with 32
 * open, tier S's queue outgrew the 120 s latency budget (15 of 150 jobs failed `deadline_exceeded`); 8 keep both
 * engines busy at the same throughput.
 */
const DEFAULT_MAX_OPEN_JOBS = { llama: 8, sim: 32 } as const;
const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const program = new Command('demo')
  .description('Run the whole platform locally on a SQuAD-format file: index the paragraphs, answer the questions as async jobs, print a summary.')
  .option('--input <path>', 'SQuAD v1.1-format JSON file', path.resolve(repoRoot(), '../shared/data/squad-v1.1-dev-subset.json'))
  .option(
    '--questions <n>',
    `questions to submit as jobs (default: ${DEFAULT_QUESTIONS.llama} with --engine llama, ${DEFAULT_QUESTIONS.sim} with sim)`,
    positiveInt,
  )
  .addOption(
    new Option('--engine <kind>', 'llama: real models (llama.cpp engines, MiniLM embeddings); sim: vllm-sim stand-in answers and the hashing embedder')
      .choices([...ENGINE_KINDS])
      .default('llama'),
  )
  .option('--summary <path>', 'also write the summary as JSON to this file')
  .option(
    '--policy <path>',
    'routing policy applied and activated before the run (llmgov policy apply + activate)',
    path.resolve(repoRoot(), 'infra/policies/local.yaml'),
  )
  .option('--no-policy', 'route with the built-in tier rule instead of a policy')
  .option(
    '--route-budget <tenant/route=usd>',
    'a UTC-day budget of one route of a tenant, set with llmgov budgets set before the run (repeatable); the default one is small enough that some contract-review jobs of tenant-b are refused a reservation and degrade',
    (v: string, prev: string[] | undefined) => [...(prev === undefined || prev === DEFAULT_ROUTE_BUDGETS ? [] : prev), v],
    DEFAULT_ROUTE_BUDGETS,
  )
  .option('--tenants <list>', 'comma-separated tenants; articles are split between them', 'tenant-a,tenant-b')
  .option(
    '--max-open-jobs <n>',
    `jobs submitted and not yet final at any time, a submitter with a quota (default: ${DEFAULT_MAX_OPEN_JOBS.llama} with --engine llama, ${DEFAULT_MAX_OPEN_JOBS.sim} with sim)`,
    positiveInt,
  )
  .option('--max-tokens <n>', 'max_tokens of every job (SQuAD answers are a few words)', positiveInt, 32)
  .option('--timeout <seconds>', 'give up waiting for indexing or jobs after this long', positiveInt, 900)
  .option(
    '--repeat-every <n>',
    'after the questions, ask one in N of them again verbatim (the exact cache layer); 0: none',
    (v: string) => (v === '0' ? 0 : positiveInt(v)),
    5,
  )
  .option(
    '--reword-every <n>',
    'after the questions, ask one in N of them again reworded (the semantic layer; a documented deterministic rewording); 0: none',
    (v: string) => (v === '0' ? 0 : positiveInt(v)),
    5,
  )
  .option(
    '--calibrate-routes <list>',
    'with a policy: calibrate the semantic-cache threshold of these routes of every tenant from the input (llmgov cache calibrate, calibrate half of the paragraphs); "none" skips it',
    'squad-qa,support-faq',
  )
  .parse();

interface Options {
  input: string;
  policy: string | false;
  routeBudget: string[];
  questions?: number;
  engine: EngineKind;
  summary?: string;
  tenants: string;
  maxOpenJobs?: number;
  maxTokens: number;
  timeout: number;
  repeatEvery: number;
  rewordEvery: number;
  calibrateRoutes: string;
}

/**
 * Sets the demo's route budgets (`llmgov budgets set`), then applies and activates a policy file with the operator CLI
 * (`llmgov policy apply`, then `activate`), as an operator would, and returns the active version.
 * @throws Error with the CLI's message when the file is invalid or the database cannot be reached.
 */
async function activatePolicy(file: string, routeBudgets: string[]): Promise<number> {
  for (const spec of routeBudgets) {
    const m = /^([^/=\s]+)\/([^/=\s]+)=([0-9.]+)$/.exec(spec);
    if (!m) throw new Error(`--route-budget ${spec}: expected tenant/route=usd`);
    console.log(`budget: ${(await runLlmgov(['budgets', 'set', '--tenant', m[1]!, '--route', m[2]!, '--period', 'day', '--usd', m[3]!])).trim()}`);
  }
  return activatePolicyFile(file, { comment: 'npm run demo' });
}

function bar(label: string, total: number): cliProgress.SingleBar {
  const b = new cliProgress.SingleBar(
    { format: `${label.padEnd(22)} [{bar}] {value}/{total} {extra}`, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { extra: '' });
  return b;
}

async function main(): Promise<void> {
  const opts = program.opts<Options>();
  const tenants = opts.tenants
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tenants.length < 1) throw new Error('--tenants needs at least one tenant');
  const apiKeys = Object.fromEntries(tenants.map((t) => [t, `demo-key-${t}`]));
  const { documents, questions: allQuestions } = await loadSquad(opts.input, tenants);
  const questions = allQuestions.slice(0, opts.questions ?? DEFAULT_QUESTIONS[opts.engine]);
  const config = loadPlatformConfig();
  const runId = randomUUID().slice(0, 8);
  const started = Date.now();
  console.log(`demo run ${runId}: ${documents.length} paragraphs, ${questions.length} of ${allQuestions.length} questions, tenants ${tenants.join(', ')}`);

  const boot = await bootstrapPlatform(config);
  console.log(
    `bootstrap: ${boot.topicsCreated.length} topics created, ${boot.schemasRegistered} schemas registered, migrations ${boot.migrationsApplied.join(',') || 'up to date'}`,
  );
  const policyVersion = opts.policy === false ? null : await activatePolicy(opts.policy, opts.routeBudget);
  if (policyVersion !== null && opts.calibrateRoutes !== 'none')
    await calibrateSemanticCache(
      tenants,
      opts.calibrateRoutes.split(',').map((r) => r.trim()),
      opts.input,
    );
  if (policyVersion !== null) console.log(`policy: ${opts.policy} active as version ${policyVersion}`);
  const platform = await startPlatform({
    config,
    engine: opts.engine,
    policy: policyVersion !== null,
    env: {
      API_KEYS: Object.entries(apiKeys)
        .map(([t, k]) => `${t}=${k}`)
        .join(','),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    onStarted: (p) => console.log(`  ready ${p.name.padEnd(18)} ${p.url}`),
  });
  const api = platform.services.get('ingest-validator')!.url;
  const logger = createLogger('demo', 'warn');
  const kafka = createKafka(`demo-${runId}`, config.KAFKA_BROKERS, logger);
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const collector = new TraceCollector(kafka, registry);
  const db = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  try {
    await admin.connect();
    await producer.connect();
    const dlqOffsets = async () => {
      const out: Record<string, number> = {};
      for (const spec of topicCatalog) {
        const offsets = await admin.fetchTopicOffsets(dlqTopic(spec.name));
        out[spec.name] = offsets.reduce((s, o) => s + Number(o.high), 0);
      }
      return out;
    };
    const dlqBefore = await dlqOffsets();
    await collector.start(`demo-trace-${runId}`);

    // 1. Producer systems publish the paragraphs as documents on the raw topic.
    const publisher = new EventPublisher(producer, new AvroSerde(registry));
    const pub = bar('publishing documents', documents.length);
    for (let i = 0; i < documents.length; i += 100) {
      const batch = documents.slice(i, i + 100).map((d) => {
        const value: DocumentSubmitted = {
          ...newEnvelope(d.tenantId, d.documentId),
          document_id: d.documentId,
          source: 'squad-v1.1',
          title: d.title,
          text: d.text,
          language: 'en',
          metadata: { title: d.title },
        };
        return { value };
      });
      await publisher.publishMany(Topics.documentSubmitted, batch);
      pub.increment(batch.length);
    }
    pub.stop();

    // 2. Wait until every document is indexed (the index status topic names it).
    const deadline = started + opts.timeout * 1000;
    const wanted = documents.map((d) => `${d.tenantId}/${d.documentId}`);
    const idx = bar('indexing documents', wanted.length);
    const indexStart = Date.now();
    for (;;) {
      const done = wanted.filter((w) => collector.indexedDocuments.has(w)).length;
      idx.update(done);
      if (done === wanted.length) break;
      if (Date.now() > deadline) throw new Error(`only ${done}/${wanted.length} documents indexed after ${opts.timeout} s; see .local/logs/`);
      await collector.nextRecord(1000);
    }
    idx.stop();
    const indexSeconds = (Date.now() - indexStart) / 1000;

    // 3 and 4. Submit the questions as async jobs over HTTP and poll each to a final state, keeping at most
    // --max-open-jobs open at once, as a batch submitter with a quota would: the latency budget then measures the
    // platform, not a backlog the demo built itself.
    const submittedAt = new Map<string, number>();
    const jobOf = new Map<string, SquadQuestion>();
    type Final = { status: string; result: JobView['result']; error: JobView['error']; completedAt: number };
    const finals = new Map<string, Final>();
    const progress = bar('jobs in a final state', questions.length);
    let submitErrors = 0;
    // Then the follow-ups (repeats and rewordings of some of the questions, cache-workload.ts), once every question is
    // final, so their answers had the chance to be judged and cached.
    const later = followUps(questions, opts.repeatEvery, opts.rewordEvery);
    progress.setTotal(questions.length + later.length);
    const ask = async (q: SquadQuestion): Promise<void> => {
      // The idempotency key makes a retry after a connection error or a 503 safe: it returns the job already created.
      const out = await submitAndWait(
        api,
        apiKeys[q.tenantId]!,
        {
          prompt: q.question,
          idempotency_key: `${runId}:${q.id}`,
          budget: budgetFor(q.id),
          options: { max_tokens: opts.maxTokens, temperature: 0, rag: true },
          team: 'qa',
          feature: 'squad-demo',
          ...(policyVersion !== null && routeFor(q.id) !== null ? { route: routeFor(q.id) } : {}),
        },
        deadline,
      );
      if (!out.jobId) {
        submitErrors++;
        console.error(`submit ${q.id}: ${out.error ?? 'no job id'}`);
      } else {
        submittedAt.set(out.jobId, out.submittedAt);
        jobOf.set(out.jobId, q);
        if (out.job && out.finalSeenAt !== null)
          finals.set(out.jobId, { status: out.job.status, result: out.job.result, error: out.job.error, completedAt: out.finalSeenAt });
      }
      progress.increment();
    };
    await workerPool(questions, opts.maxOpenJobs ?? DEFAULT_MAX_OPEN_JOBS[opts.engine], ask);
    await workerPool(later, opts.maxOpenJobs ?? DEFAULT_MAX_OPEN_JOBS[opts.engine], ask);
    progress.stop();

    // 5. Summary.
    const byState: Record<string, number> = {};
    for (const id of jobOf.keys()) {
      const s = finals.get(id)?.status ?? 'not_final';
      byState[s] = (byState[s] ?? 0) + 1;
    }
    const completed = [...finals.entries()].filter(([, f]) => f.status === 'completed');
    // Recall over the jobs that retrieved: a route whose policy allows no RAG (support-faq) asks no index.
    const recallItems = completed
      .filter(([, f]) => !(f.result?.decision_reasons ?? []).some((r) => r.endsWith('→no_rag')))
      .map(([id, f]) => ({ gold: jobOf.get(id)!.goldDocumentId, retrieved: f.result?.retrieved_document_ids ?? [] }));
    // Wait briefly for the trace and the cost ledger to catch up with the last jobs.
    const jobIds = [...jobOf.keys()];
    const inferred = () => jobIds.filter((id) => collector.jobs.get(id)?.fromCache === false).length;
    const ledgerRows = async () =>
      Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM cost_ledger WHERE job_id = ANY($1) AND kind = 'COMPLETION'", [jobIds])).rows[0]?.n ?? 0);
    const catchUp = Date.now() + 30_000;
    while (
      Date.now() < catchUp &&
      ((await ledgerRows()) < inferred() || jobIds.some((id) => finals.get(id)?.status === 'completed' && collector.jobs.get(id)?.judgedAt === undefined))
    ) {
      await collector.nextRecord(500);
    }
    const costRows = await db.query<{ tenant_id: string; kind: string; cost: string }>(
      'SELECT tenant_id, kind, sum(cost_usd)::text AS cost FROM cost_ledger WHERE job_id = ANY($1) OR (kind = $2 AND job_id IS NULL) GROUP BY tenant_id, kind',
      [jobIds, 'EMBEDDING'],
    );
    const costByTenant: Record<string, number> = {};
    const indexingCostByTenant: Record<string, number> = {};
    for (const r of costRows.rows) {
      const target = r.kind === 'EMBEDDING' ? indexingCostByTenant : costByTenant;
      target[r.tenant_id] = (target[r.tenant_id] ?? 0) + Number(r.cost);
    }
    const dlqAfter = await dlqOffsets();
    const dlqByTopic: Record<string, number> = {};
    for (const [t, n] of Object.entries(dlqAfter)) if (n - (dlqBefore[t] ?? 0) > 0) dlqByTopic[t] = n - (dlqBefore[t] ?? 0);
    const stage = (f: (id: string) => number | undefined) => {
      const values = jobIds.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
      return { p50: percentile(values, 50), p95: percentile(values, 95), n: values.length };
    };
    const tr = (id: string) => collector.jobs.get(id);
    const tierMix: Record<string, number> = {};
    const verdicts: Record<string, number> = {};
    let cacheHits = 0;
    for (const id of jobIds) {
      const t = tr(id);
      if (t?.tier) tierMix[t.tier] = (tierMix[t.tier] ?? 0) + 1;
      if (t?.verdict) verdicts[t.verdict] = (verdicts[t.verdict] ?? 0) + 1;
      if (t?.fromCache) cacheHits++;
    }
    // Policy decisions: by route and outcome (tier, template, refusal), by reason, and what was degraded or refused.
    const policyDecisions = {
      by_route: {} as Record<string, Record<string, number>>,
      by_reason: {} as Record<string, number>,
      by_intent: {} as Record<string, number>,
      templates: 0,
      refusals: 0,
      degraded: 0,
    };
    for (const [id, f] of finals) {
      const route = f.result?.route ?? routeFor(jobOf.get(id)!.id) ?? 'default';
      const outcome =
        f.status !== 'completed' ? `${f.status}:${f.error?.code ?? '?'}` : f.result?.finish_reason === 'template' ? 'template' : (f.result?.tier ?? '?');
      const row = (policyDecisions.by_route[route] ??= {});
      row[outcome] = (row[outcome] ?? 0) + 1;
      // The router puts the classified intent first among the reasons (`intent:<name>`): counted apart.
      const intent = intentOfReasons(f.result?.decision_reasons);
      if (intent !== null) policyDecisions.by_intent[intent] = (policyDecisions.by_intent[intent] ?? 0) + 1;
      for (const r of f.result?.decision_reasons ?? [])
        if (!r.startsWith(INTENT_REASON_PREFIX)) policyDecisions.by_reason[r] = (policyDecisions.by_reason[r] ?? 0) + 1;
      if (f.result?.finish_reason === 'template') policyDecisions.templates++;
      if (f.error?.code === 'budget_exceeded' || f.error?.code === 'safety_violation') policyDecisions.refusals++;
      if (
        (f.result?.decision_reasons ?? []).some(
          (r) => /→(shrink_context|lower_tier|serve_cache|serve_template|reroute)/.test(r) && !r.startsWith('exact_cache_hit_meets'),
        )
      )
        policyDecisions.degraded++;
    }
    const routeCost = await db.query<{ tenant_id: string; route: string | null; cost: string }>(
      "SELECT tenant_id, route, sum(cost_usd)::text AS cost FROM cost_ledger WHERE job_id = ANY($1) AND kind = 'COMPLETION' GROUP BY tenant_id, route",
      [jobIds],
    );
    const costByTenantRoute: Record<string, number> = {};
    for (const r of routeCost.rows) costByTenantRoute[`${r.tenant_id}/${r.route ?? '-'}`] = Number(r.cost);
    // SQuAD's official exact match and token F1 of each completed answer against the question's gold answers.
    const answers = aggregateScores(
      completed.map(([id, f]) => ({ group: f.result?.tier ?? tr(id)?.tier ?? 'unknown', ...scoreAnswer(f.result?.text ?? '', jobOf.get(id)!.answers) })),
    );
    // Cache hits by layer and workload kind; a semantic hit is false when the cached answer's source question has other
    // gold answers than the asking one (the router records which entry answered, SemanticCacheRecords.getHits).
    const redis = createRedis(config.REDIS_URL);
    let cache: CacheSummary;
    try {
      const hits = await new SemanticCacheRecords(redis).getHits(jobIds);
      cache = cacheSummary(
        [...finals.entries()].map(([id, f]) => ({
          jobId: id,
          question: jobOf.get(id)!,
          reasons: f.result?.decision_reasons ?? [],
          completed: f.status === 'completed',
        })),
        hits,
        [...questions, ...later],
      );
    } finally {
      redis.disconnect();
    }
    const summary = {
      run_id: runId,
      engine: opts.engine,
      policy: policyVersion === null ? null : { file: opts.policy, version: policyVersion, decisions: policyDecisions },
      engines: platform.engineSet.engines.map((e) => ({ name: e.name, role: e.role, tiers: e.tiers, ...e.info })),
      input: opts.input,
      documents: { total: documents.length, indexing_seconds: indexSeconds },
      jobs: { total: questions.length + later.length, follow_ups: later.length, submitted: jobOf.size, submit_errors: submitErrors, by_state: byState },
      retrieval: { recall_at_5: recallAtK(recallItems, 5), recall_at_1: recallAtK(recallItems, 1), evaluated: recallItems.length },
      answers: { overall: answers.overall, by_tier: answers.by_group },
      cache: { hits: cacheHits, ...cache },
      tiers: tierMix,
      verdicts,
      cost_usd: { by_tenant: costByTenant, by_tenant_route: costByTenantRoute, indexing_by_tenant: indexingCostByTenant },
      dlq: { total: Object.values(dlqByTopic).reduce((sum, n) => sum + n, 0), by_topic: dlqByTopic },
      latency_ms: {
        ingest: stage((id) => (tr(id)?.validatedAt ?? NaN) - submittedAt.get(id)!),
        route: stage((id) => (tr(id)?.routedAt ?? tr(id)?.completedAt ?? NaN) - (tr(id)?.validatedAt ?? NaN)),
        inference: stage((id) => (tr(id)?.fromCache ? NaN : (tr(id)?.completedAt ?? NaN) - (tr(id)?.routedAt ?? NaN))),
        engine_ttft: stage((id) => (tr(id)?.fromCache ? undefined : tr(id)?.ttftMs)),
        judge: stage((id) => (tr(id)?.judgedAt ?? NaN) - (tr(id)?.completedAt ?? NaN)),
        end_to_end: stage((id) => (tr(id)?.judgedAt ?? NaN) - submittedAt.get(id)!),
      },
      wall_seconds: (Date.now() - started) / 1000,
      services: [...SERVICE_NAMES],
    };
    printSummary(summary);
    if (opts.summary) {
      await writeFile(opts.summary, JSON.stringify(summary, null, 2));
      console.log(`summary written to ${opts.summary}`);
    }
    const notFinal = byState['not_final'] ?? 0;
    if (notFinal > 0 || submitErrors > 0) {
      console.error(`demo: ${notFinal} job(s) not in a final state after ${opts.timeout} s and ${submitErrors} submit error(s); see .local/logs/`);
      process.exitCode = 1;
    }
  } finally {
    await collector.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await db.end().catch(() => undefined);
    await platform.stop();
  }
}

function printSummary(s: {
  policy: {
    file: string | false;
    version: number;
    decisions: {
      by_route: Record<string, Record<string, number>>;
      by_reason: Record<string, number>;
      by_intent: Record<string, number>;
      templates: number;
      refusals: number;
      degraded: number;
    };
  } | null;
  engines: { name: string; backend: string; model: string; model_file: string | null; quantization: string | null }[];
  answers: { overall: AnswerScores; by_tier: Record<string, AnswerScores> };
  documents: { total: number; indexing_seconds: number };
  jobs: { total: number; follow_ups: number; by_state: Record<string, number> };
  retrieval: { recall_at_5: number; recall_at_1: number; evaluated: number };
  cache: { hits: number } & CacheSummary;
  tiers: Record<string, number>;
  verdicts: Record<string, number>;
  cost_usd: { by_tenant: Record<string, number>; by_tenant_route: Record<string, number>; indexing_by_tenant: Record<string, number> };
  dlq: { total: number; by_topic: Record<string, unknown> };
  latency_ms: Record<string, { p50: number; p95: number; n: number }>;
  wall_seconds: number;
}): void {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
  console.log('\n=== summary ===');
  for (const e of s.engines)
    console.log(`engine:        ${e.name.padEnd(12)} ${e.model}${e.model_file ? ` (${e.model_file}, ${e.quantization})` : ''} on ${e.backend}`);
  console.log(`documents:     ${s.documents.total} indexed in ${s.documents.indexing_seconds.toFixed(1)} s`);
  console.log(
    `jobs:          ${s.jobs.total} submitted (${s.jobs.follow_ups} of them repeated or reworded follow-ups); ${Object.entries(s.jobs.by_state)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(
    `retrieval:     recall@5 ${s.retrieval.recall_at_5.toFixed(3)}, recall@1 ${s.retrieval.recall_at_1.toFixed(3)} (over the ${s.retrieval.evaluated} completed jobs that retrieved)`,
  );
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
  console.log(
    `answers:       exact match ${pct(s.answers.overall.exact_match)}, F1 ${pct(s.answers.overall.f1)} (n ${s.answers.overall.n}); ${Object.entries(
      s.answers.by_tier,
    )
      .map(([t, a]) => `${t}: EM ${pct(a.exact_match)} F1 ${pct(a.f1)} (n ${a.n})`)
      .join(', ')}`,
  );
  console.log(
    `cache hits:    ${s.cache.hits} served from cache: exact ${s.cache.exact_hits}, semantic ${s.cache.semantic_hits}, as a degrade step ${s.cache.degrade_hits}`,
  );
  const c = s.cache;
  console.log(
    `  semantic:    false hits ${c.semantic_false_hits} of ${c.semantic_hits} (false-hit rate ${Number.isFinite(c.semantic_false_hit_rate) ? pct(c.semantic_false_hit_rate) : '-'} %), similarity p50 ${Number.isFinite(c.semantic_similarity_p50) ? c.semantic_similarity_p50.toFixed(3) : '-'}, thresholds ${
      Object.entries(c.thresholds)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ') || '-'
    }`,
  );
  console.log(
    `  by kind:     ${Object.entries(c.by_kind)
      .map(([k, v]) => `${k} ${v.exact + v.semantic}/${v.asked} (exact ${v.exact}, semantic ${v.semantic})`)
      .join('; ')}`,
  );
  if (s.policy) {
    const d = s.policy.decisions;
    console.log(`policy:        ${s.policy.file} version ${s.policy.version}; ${d.degraded} degraded, ${d.templates} template answers, ${d.refusals} refused`);
    for (const [route, outcomes] of Object.entries(d.by_route))
      console.log(
        `  route ${route.padEnd(16)} ${Object.entries(outcomes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    const intents = Object.entries(d.by_intent).sort((a, b) => b[1] - a[1]);
    if (intents.length > 0) console.log(`  intents        ${intents.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const [reason, n] of Object.entries(d.by_reason).sort((a, b) => b[1] - a[1])) console.log(`  reason ${String(n).padStart(5)}  ${reason}`);
  }
  console.log(
    `tier mix:      ${
      Object.entries(s.tiers)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-'
    }`,
  );
  console.log(
    `judge:         ${
      Object.entries(s.verdicts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-'
    }`,
  );
  console.log(
    `cost (USD):    ${
      Object.entries(s.cost_usd.by_tenant)
        .map(([k, v]) => `${k} ${v.toFixed(6)}`)
        .join(', ') || '-'
    }  (indexing: ${
      Object.entries(s.cost_usd.indexing_by_tenant)
        .map(([k, v]) => `${k} ${v.toFixed(6)}`)
        .join(', ') || '-'
    })`,
  );
  if (Object.keys(s.cost_usd.by_tenant_route).length > 0)
    console.log(
      `cost by route: ${Object.entries(s.cost_usd.by_tenant_route)
        .map(([k, v]) => `${k} ${v.toFixed(6)}`)
        .join(', ')}`,
    );
  console.log(`DLQ records:   ${s.dlq.total} ${s.dlq.total ? JSON.stringify(s.dlq.by_topic) : ''}`);
  console.log('latency (ms):  stage          p50     p95     n');
  for (const [k, v] of Object.entries(s.latency_ms)) console.log(`               ${k.padEnd(13)} ${fmt(v.p50).padStart(6)}  ${fmt(v.p95).padStart(6)}  ${v.n}`);
  console.log(`wall time:     ${s.wall_seconds.toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
