#!/usr/bin/env node
/**
 * bench:governance (issue 11 §5): replays one workload built from a SQuAD-format file through the real platform twice in
 * the same run, under a baseline policy (every request to tier M with RAG) and under the governed policy, and prints
 * the two arms side by side with seed 002's "after" figures. See README.md beside this file for the method.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { intArg, numArg } from '@llmgov/cli-args';
import { loadPlatformConfig } from '@llmgov/config';
import { calibrateSemanticCache, goldAnswersByText, isFalseSemanticHit, loadSquad, TraceCollector } from '@llmgov/demo';
import { submitAndWait, workerPool, type JobOutcome } from '@llmgov/jobs-client';
import { createKafka, deleteNamespace, TopicNamespace } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { awaitJobRecords, createPgPool, createRedis, SemanticCacheRecords } from '@llmgov/persistence';
import { activatePolicyFile, applyPolicyFile, bootstrapPlatform, ENGINE_KINDS, repoRoot, startPlatform, type EngineKind } from '@llmgov/platform';
import { parsePolicyText, type PolicyDocument } from '@llmgov/policy';
import { armPolicies, armTenant, ARMS, type Arm } from './policies.js';
import { armFigures, pairedF1Difference, SEED_002_AFTER, targetCheck, type ArmFigures, type RequestOutcome } from './report.js';
import { buildWorkload, describeWorkload, type WorkloadRequest } from './workload.js';

/** Jobs open at once per engine kind: the demo's figures (tools/demo: more open jobs only queue longer on real engines). */
const DEFAULT_MAX_OPEN_JOBS = { llama: 8, sim: 32 } as const;
/** How long to wait after an arm's last job for the judge's verdicts and the cost ledger, ms. */
const CATCH_UP_MS = 60_000;
/** The team every job is billed to (the governed policy's team budgets apply to it, as to the demo's jobs). */
const TEAM = 'qa';

const root = repoRoot();
const program = new Command('bench-governance')
  .description(
    'Replay a workload built from a SQuAD-format file (Zipf-like repeats, rewordings, three SLO classes) through the real platform twice: a baseline policy (every request to tier M with RAG) and the governed policy; print both arms side by side',
  )
  .option('--input <path>', 'SQuAD v1.1-format JSON file', path.resolve(root, '../shared/data/squad-v1.1-dev-subset.json'))
  .option('--questions <n>', 'distinct questions the workload draws from (the first N of the file, interleaved across articles)', intArg(1), 60)
  .option('--requests <n>', 'requests per arm (default: 3 × --questions)', intArg(1))
  .option('--zipf-s <s>', 'Zipf exponent of question popularity (Breslau et al. 1999 measured 0.64–0.83 on web traffic)', numArg(0.01, 5), 0.9)
  .option('--reword-share <p>', 'share of repeated asks that are reworded (libs/policy reword)', numArg(0, 1), 0.5)
  .option('--seed <text>', 'workload seed (the same seed gives the same workload)', 'governance-1')
  .option('--policy <path>', 'the governed policy file', path.resolve(root, 'infra/policies/local.yaml'))
  .option(
    '--tier-quality <tier=q,...>',
    "replace the governed policy's tiers' expected_quality with measured figures (e.g. S=0.14,M=0.28,L=0.28: mean SQuAD F1 per tier, bench/README.md)",
    parseTierQuality,
  )
  .addOption(
    new Option('--engine <kind>', 'llama: the real local models; sim: vllm-sim and the hashing embedder (a quick check of the harness)')
      .choices([...ENGINE_KINDS])
      .default('llama'),
  )
  .option('--max-open-jobs <n>', 'jobs open at once (default: 8 with --engine llama, 32 with sim)', intArg(1))
  .option('--max-tokens <n>', 'max_tokens of every job', intArg(1), 32)
  .option('--timeout <seconds>', 'give up on an arm after this long', intArg(60), 3600)
  .option(
    '--calibrate-routes <list>',
    'routes whose semantic-cache threshold is calibrated from the input for the governed tenants; "none" skips it',
    'squad-qa,support-faq',
  )
  .option('--summary <path>', 'write the JSON summary to this file')
  .option('--json', 'print the JSON summary on stdout (progress goes to stderr)')
  .addHelpText(
    'after',
    `
Each arm has its own tenants (gb<run>-base-*, gb<run>-gov-*) with the same documents, so neither arm's caches, index or
budgets serve the other and a second run starts cold; each request is pinned to its arm's policy version (metadata
policy_version) in the run's own policy namespace. Figures and their definitions: tools/bench-governance/README.md.

Examples:
  npm run bench:governance -- --summary bench/results/governance.json
  npm run bench:governance -- --engine sim --questions 20 --requests 60`,
  )
  .parse();

/** `S=0.14,M=0.28`: each tier's expected_quality in 0..1. */
function parseTierQuality(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(S|M|L)=(0(?:\.\d+)?|1(?:\.0+)?)$/.exec(part);
    if (!m) throw new InvalidArgumentError(`"${part.slice(0, 40)}" is not TIER=QUALITY with TIER one of S, M, L and QUALITY in 0..1`);
    out[m[1]!] = Number(m[2]);
  }
  if (Object.keys(out).length === 0) throw new InvalidArgumentError('expected at least one TIER=QUALITY');
  return out;
}

interface Options {
  tierQuality?: Record<string, number>;
  input: string;
  questions: number;
  requests?: number;
  zipfS: number;
  rewordShare: number;
  seed: string;
  policy: string;
  engine: EngineKind;
  maxOpenJobs?: number;
  maxTokens: number;
  timeout: number;
  calibrateRoutes: string;
  summary?: string;
  json?: boolean;
}

const o = program.opts<Options>();
const run = randomBytes(3).toString('hex');
const POLICY_NAMESPACE = `bench-governance-${run}`;
/** The run's own Kafka namespace (bench/README.md): the live topics and consumer groups are never touched. */
const ns = new TopicNamespace(`bench.gov${run}.`);
const log = (msg: string): void => void (o.json ? process.stderr : process.stdout).write(`[bench-governance] ${msg}\n`);

function bar(label: string, total: number): cliProgress.SingleBar {
  const b = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(24)} [{bar}] {value}/{total} | ETA {eta_formatted} | {extra}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { extra: '' });
  return b;
}

async function main(): Promise<void> {
  const fileDoc: PolicyDocument = withTierQuality(parsePolicyText(readFileSync(o.policy, 'utf8'), o.policy), o.tierQuality);
  const fileTenants = Object.keys(fileDoc.tenants);
  const { documents, questions } = await loadSquad(o.input, fileTenants);
  const pool = questions.slice(0, o.questions);
  const workload = buildWorkload(pool, { requests: o.requests ?? 3 * o.questions, zipfS: o.zipfS, rewordShare: o.rewordShare, seed: o.seed });
  const shape = describeWorkload(workload);
  log(
    `run ${run}: ${shape.requests} requests per arm over ${pool.length} questions (${shape.distinct} asked), ${JSON.stringify(shape.by_kind)}, routes ${JSON.stringify(shape.by_route)}; engine ${o.engine}; load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );

  const docs = armPolicies(fileDoc, run);
  const dir = path.join(root, '.local', 'bench');
  mkdirSync(dir, { recursive: true });
  const files = Object.fromEntries(ARMS.map((arm) => [arm, path.join(dir, `governance-${run}-${arm}.json`)])) as Record<Arm, string>;
  for (const arm of ARMS) writeFileSync(files[arm], JSON.stringify(docs[arm], null, 2));

  const config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: ns.prefix };
  await bootstrapPlatform(config);
  const promptsDir = path.join(root, 'infra', 'prompts');
  const versions: Record<Arm, number> = {
    baseline: await applyPolicyFile(files.baseline, { namespace: POLICY_NAMESPACE, promptsDir, comment: `bench:governance ${run} baseline` }),
    governed: await activatePolicyFile(files.governed, { namespace: POLICY_NAMESPACE, promptsDir, comment: `bench:governance ${run} governed` }),
  };
  log(`policy namespace ${POLICY_NAMESPACE}: baseline version ${versions.baseline}, governed version ${versions.governed} (active)`);
  const governedTenants = fileTenants.map((t) => armTenant(run, 'governed', t));
  if (o.calibrateRoutes !== 'none')
    await calibrateSemanticCache(
      governedTenants,
      o.calibrateRoutes.split(',').map((r) => r.trim()),
      o.input,
      POLICY_NAMESPACE,
    );

  const allTenants = ARMS.flatMap((arm) => fileTenants.map((t) => armTenant(run, arm, t)));
  const apiKeys = new Map(allTenants.map((t) => [t, `bench-key-${t}`]));
  const platform = await startPlatform({
    config,
    engine: o.engine,
    policy: true,
    logDir: path.join(root, '.local', 'logs', 'bench-governance'),
    env: {
      API_KEYS: [...apiKeys].map(([t, k]) => `${t}=${k}`).join(','),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // The judge cascades where the deciding version's SLO class has an escalation block (the baseline has none).
      POLICY_NAMESPACE,
    },
    onStarted: (p) => log(`ready ${p.name}`),
  });
  const api = platform.services.get('ingest-validator')!.url;
  const db = createPgPool(config.DATABASE_URL, { max: 2 });
  const redis = createRedis(config.REDIS_URL);
  const kafka = createKafka(`bench-governance-${run}`, config.KAFKA_BROKERS, createLogger('bench-governance', 'warn'));
  const collector = new TraceCollector(kafka, new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }), ns);
  try {
    await collector.start(ns.wire('bench-governance-trace'));
    // 1. Each arm's tenants get the file's documents (articles split over the file's tenants as the demo splits them).
    const wanted = ARMS.flatMap((arm) => documents.map((d) => ({ ...d, tenantId: armTenant(run, arm, d.tenantId) })));
    const pub = bar('publishing documents', wanted.length);
    await workerPool(wanted, 8, async (d) => {
      const res = await fetch(`${api}/v1/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKeys.get(d.tenantId)}` },
        body: JSON.stringify({ document_id: d.documentId, title: d.title, text: d.text }),
      });
      if (res.status !== 202) throw new Error(`POST /v1/documents ${d.documentId}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
      pub.increment();
    });
    pub.stop();
    const idx = bar('indexing documents', wanted.length);
    const indexDeadline = Date.now() + o.timeout * 1000;
    for (;;) {
      const done = wanted.filter((d) => collector.indexedDocuments.has(`${d.tenantId}/${d.documentId}`)).length;
      idx.update(done);
      if (done === wanted.length) break;
      if (Date.now() > indexDeadline)
        throw new Error(`only ${done}/${wanted.length} documents indexed after ${o.timeout} s; see .local/logs/bench-governance/`);
      await collector.nextRecord(1000);
    }
    idx.stop();

    // 2. The arms, one after the other, on the same workload.
    const arms = {} as Record<
      Arm,
      { requests: RequestOutcome[]; figures: ArmFigures; statuses: Record<string, number>; missing: { verdicts: number; costs: number }; wall_s: number }
    >;
    for (const arm of ARMS) arms[arm] = await runArm(arm, workload, { api, apiKeys, version: versions[arm], db, redis, governed: docs.governed });

    const summary = {
      run_id: run,
      engine: o.engine,
      engines: platform.engineSet.engines.map((e) => ({ name: e.name, role: e.role, tiers: e.tiers, ...e.info })),
      input: o.input,
      policy: { governed_file: o.policy, tier_quality: o.tierQuality ?? null, namespace: POLICY_NAMESPACE, versions },
      workload: { ...shape, questions: pool.length, zipf_s: o.zipfS, reword_share: o.rewordShare, seed: o.seed, max_open_jobs: maxOpen() },
      baseline: arms.baseline.figures,
      governed: arms.governed.figures,
      statuses: { baseline: arms.baseline.statuses, governed: arms.governed.statuses },
      missing_records: { baseline: arms.baseline.missing, governed: arms.governed.missing },
      wall_s: { baseline: arms.baseline.wall_s, governed: arms.governed.wall_s },
      target: targetCheck(arms.baseline.figures, arms.governed.figures),
      f1_difference: pairedF1Difference(arms.baseline.requests, arms.governed.requests),
      seed_002_after: SEED_002_AFTER,
      load_after: os.loadavg(),
    };
    if (o.summary) writeFileSync(o.summary, `${JSON.stringify(summary, null, 2)}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printTable(arms.baseline.figures, arms.governed.figures, summary.target, summary.f1_difference);
    if (o.summary) log(`summary written to ${o.summary}`);
    const unfinished = ARMS.reduce((s, arm) => s + (arms[arm].statuses.not_final ?? 0) + (arms[arm].statuses.submit_error ?? 0), 0);
    if (unfinished > 0) {
      log(`${unfinished} request(s) not final or not submitted; see .local/logs/bench-governance/`);
      process.exitCode = 1;
    }
  } finally {
    await collector.stop().catch(() => undefined);
    redis.disconnect();
    await platform.stop();
    for (const table of ['policy_activations', 'policy_version_templates', 'policy_versions'])
      await db
        .query(`DELETE FROM ${table} WHERE namespace = $1`, [POLICY_NAMESPACE])
        .catch((err: unknown) => log(`could not delete ${table} rows: ${(err as Error).message}`));
    await db.end().catch(() => undefined);
    const deleted = await deleteNamespace(kafka, ns.prefix).catch((err: unknown) => {
      log(`could not delete the namespace ${ns.prefix}: ${(err as Error).message}`);
      return { topics: [], groups: [] };
    });
    log(`deleted namespace ${ns.prefix}: ${deleted.topics.length} topics, ${deleted.groups.length} consumer groups`);
  }
}

/**
 * The governed policy with its tiers' expected_quality replaced by measured figures (the quality loop: the router's
 * tier order follows what was measured, not the file's priors).
 * @throws Error naming a tier the policy does not declare.
 */
function withTierQuality(doc: PolicyDocument, quality: Record<string, number> | undefined): PolicyDocument {
  if (!quality) return doc;
  const tiers = { ...doc.tiers };
  for (const [tier, q] of Object.entries(quality)) {
    const t = tiers[tier as keyof typeof tiers];
    if (!t) throw new Error(`--tier-quality ${tier}: the policy declares no tier ${tier}`);
    tiers[tier as keyof typeof tiers] = { ...t, expected_quality: q };
  }
  return { ...doc, tiers };
}

const maxOpen = (): number => o.maxOpenJobs ?? DEFAULT_MAX_OPEN_JOBS[o.engine];

/** Runs the workload as one arm's tenants, pinned to the arm's policy version, and computes its figures. */
async function runArm(
  arm: Arm,
  workload: readonly WorkloadRequest[],
  ctx: {
    api: string;
    apiKeys: ReadonlyMap<string, string>;
    version: number;
    db: ReturnType<typeof createPgPool>;
    redis: ReturnType<typeof createRedis>;
    governed: PolicyDocument;
  },
) {
  const started = Date.now();
  const deadline = started + o.timeout * 1000;
  const outcomes: JobOutcome[] = new Array<JobOutcome>(workload.length);
  const progress = bar(`${arm} jobs final`, workload.length);
  let notCompleted = 0;
  await workerPool(workload, maxOpen(), async (r, i) => {
    const tenant = armTenant(run, arm, r.question.tenantId);
    const out = await submitAndWait(
      ctx.api,
      ctx.apiKeys.get(tenant)!,
      {
        prompt: r.question.question,
        idempotency_key: `bench-governance:${run}:${arm}:${r.seq}`,
        budget: r.budget,
        options: { max_tokens: o.maxTokens, temperature: 0, rag: true },
        team: TEAM,
        feature: 'governance-bench',
        ...(r.route !== null ? { route: r.route } : {}),
        // The governed version is the active one: its requests are live traffic. The baseline's are pinned to its version
        // (the router then keeps their exact cache apart and looks up no semantic layer, as for an eval).
        metadata: { ...(arm === 'baseline' ? { policy_version: String(ctx.version) } : {}), bench_run: run, arm },
      },
      deadline,
    );
    outcomes[i] = out;
    if (out.status !== 'completed') notCompleted++;
    progress.increment(1, { extra: `${notCompleted} not completed` });
  });
  progress.stop();
  const { records, missingVerdicts, missingCosts } = await awaitJobRecords(ctx.db, outcomes, CATCH_UP_MS);
  const jobIds = outcomes.flatMap((x) => (x.jobId ? [x.jobId] : []));
  const hits = await new SemanticCacheRecords(ctx.redis).getHits(jobIds);
  const byText = goldAnswersByText(workload.map((r) => r.question));
  const requests: RequestOutcome[] = workload.map((r, i) => {
    const out = outcomes[i]!;
    const result = out.job?.result ?? null;
    const tenant = armTenant(run, arm, r.question.tenantId);
    const hit = out.jobId ? hits.get(out.jobId) : undefined;
    return {
      intent: r.route ?? 'default',
      expected_answers: r.question.answers,
      status: out.status,
      answer: out.status === 'completed' ? (result?.text ?? '') : null,
      verdict: out.jobId && out.status === 'completed' ? (records.verdicts.get(out.jobId) ?? null) : null,
      cost_usd: out.jobId ? (records.costs.get(out.jobId) ?? null) : null,
      latency_ms: out.jobId && out.status === 'completed' ? (records.latency.get(out.jobId) ?? null) : null,
      tenant,
      team: TEAM,
      route: result?.route ?? r.route ?? ctx.governed.tenants[tenant]?.default_route ?? 'default',
      max_cost_usd: r.budget.max_cost_usd,
      tier: result?.tier ?? null,
      finish_reason: result?.finish_reason ?? null,
      decision_reasons: result?.decision_reasons ?? [],
      question_id: r.base.id,
      false_cache_hit: hit !== undefined && isFalseSemanticHit(hit.source_prompt, r.question.answers, byText) === true,
    };
  });
  const statuses: Record<string, number> = {};
  for (const x of outcomes) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
  const wall_s = (Date.now() - started) / 1000;
  log(`${arm}: ${JSON.stringify(statuses)} in ${wall_s.toFixed(0)} s; records missing after catch-up: ${missingVerdicts} verdicts, ${missingCosts} costs`);
  return { requests, figures: armFigures(requests, ctx.governed), statuses, missing: { verdicts: missingVerdicts, costs: missingCosts }, wall_s };
}

function printTable(b: ArmFigures, g: ArmFigures, target: ReturnType<typeof targetCheck>, diff: ReturnType<typeof pairedF1Difference>): void {
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '-');
  const usd = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '-');
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const num = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const t = new Table({ head: ['', 'baseline (all M + RAG)', 'governed', 'seed 002 after'], style: { head: [], border: [] } });
  t.push(
    [
      'cost per 1K requests (USD)',
      usd(b.cost_per_1k_usd),
      usd(g.cost_per_1k_usd),
      `${SEED_002_AFTER.cost_per_1k_usd.before} → ${SEED_002_AFTER.cost_per_1k_usd.after}`,
    ],
    ['F1 (mean)', num(b.quality.f1_mean), num(g.quality.f1_mean), ''],
    ['exact match', num(b.quality.exact_match), num(g.quality.exact_match), ''],
    ['judge PASS rate', pct(b.judge.pass_rate), pct(g.judge.pass_rate), ''],
    ['judge kappa vs gold', num(b.judge.kappa_vs_gold, 2), num(g.judge.kappa_vs_gold, 2), ''],
    ['hallucination rate', pct(b.hallucination_rate), pct(g.hallucination_rate), pct(SEED_002_AFTER.hallucination_rate)],
    ['cache hit rate', pct(b.cache.hit_rate), pct(g.cache.hit_rate), pct(SEED_002_AFTER.cache_hit_rate)],
    ['cache false-hit rate', pct(b.cache.false_hit_rate), pct(g.cache.false_hit_rate), ''],
    ['share tier S or cache', pct(b.share_s_or_cache), pct(g.share_s_or_cache), SEED_002_AFTER.share_s_or_cache],
    ['escalations', String(b.escalations), String(g.escalations), ''],
    ['latency p50 / p95 (ms)', `${ms(b.latency_ms.p50)} / ${ms(b.latency_ms.p95)}`, `${ms(g.latency_ms.p50)} / ${ms(g.latency_ms.p95)}`, ''],
    ['budget overshoot (USD)', usd(b.budget.overshoot_usd), usd(g.budget.overshoot_usd), ''],
    ['SLO violations', `${b.slo.violations} / ${b.requests}`, `${g.slo.violations} / ${g.requests}`, ''],
  );
  console.log(t.toString());
  console.log(
    `target (governed vs baseline): ${target.met ? 'MET' : 'NOT MET'}; cost ${pct(target.cost_at_least_40pct_lower.saving)} lower (≥ 40 %: ${target.cost_at_least_40pct_lower.ok}), F1 drop ${num(target.f1_within_0_02.f1_drop)} (≤ 0.02: ${target.f1_within_0_02.ok}), hallucination lower: ${target.lower_hallucination_rate.ok}, zero overshoot: ${target.zero_budget_overshoot.ok}`,
  );
  console.log(
    `F1 governed − baseline, paired by request: ${num(diff.mean)} (95 % CI ${num(diff.ci95[0])} to ${num(diff.ci95[1])}, cluster bootstrap over ${diff.questions} questions)`,
  );
  console.log(`served by: baseline ${JSON.stringify(b.served_by)}; governed ${JSON.stringify(g.served_by)}`);
  const byServed = (f: ArmFigures) =>
    Object.entries(f.quality_by_served)
      .map(([k, q]) => `${k} F1 ${num(q.f1_mean)} (n ${q.n})`)
      .join(', ');
  console.log(`F1 by way of serving: baseline ${byServed(b)}; governed ${byServed(g)}`);
}

main().catch((err: unknown) => {
  console.error(`bench-governance failed: ${(err as Error).message}`);
  process.exit(1);
});
