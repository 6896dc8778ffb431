import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SingleBar, Presets } from 'cli-progress';
import { Option, type Command } from 'commander';
import {
  Topics,
  isShadowJobId,
  shadowRunJobId,
  type CostRecorded,
  type InferenceCompleted,
  type InferenceJudged,
  type InferenceRequestValidated,
  type JobStatusChanged,
} from '@llmgov/contracts';
import { countTokens } from '@llmgov/embeddings';
import { buildShadowReport, shadowReportMarkdown, type ShadowPair, type ShadowRunReport, type ShadowSide } from '@llmgov/judging';
import { AvroSerde, KafkaReplayIO, TopicFollower, TopicNamespace, createKafka, replayGroupId, type FollowedRecord } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { IndexVersionsRepository, PolicyRepository, PolicyStoreError, type Pool } from '@llmgov/persistence';
import { intentOfReasons, sha256OfJson, TIERS } from '@llmgov/policy';
import { ReplayInputError, estimateRecordCost, parseBound, parseRate, resolveRanges, runReplay, shadowTarget } from '@llmgov/replay';
import { CliError, positiveInt, printJson, withDatabase, withStoreOptions, type StoreOptions } from '../cli.js';
import { DEFAULT_CATALOG, kafkaSettings, loadCatalog } from './replay.js';

/** Options of `llmgov shadow`, as commander parses them. */
export interface ShadowRunOptions extends StoreOptions {
  from?: string;
  to?: string;
  version?: number;
  tenant?: string;
  route?: string;
  sample?: number;
  rate?: string;
  report?: string;
  dryRun?: boolean;
  /** Minutes before --from to look for the jobs' requests and completions (default 60). */
  lookback: string;
  /** Seconds to wait for the copies to be judged (default 600). */
  wait: string;
  priceCatalog: string;
  topicPrefix: string;
}

/** What the dry run prints. */
export interface ShadowDryRun {
  dry_run: true;
  version: number;
  window: { from: string; to: string };
  /** Judged user jobs in the window that match the filters, before sampling. */
  judged_jobs: number;
  by_tenant: Record<string, number>;
  by_route: Record<string, number>;
  by_policy_version: Record<string, number>;
  /** Jobs the run would re-run (the sample), and how many of them have their request within the lookback. */
  sampled: number;
  requests_found: number;
  first_judged_at: string | null;
  last_judged_at: string | null;
  /** What the sampled jobs' completions cost as served, USD (cost ledger, kind COMPLETION). */
  baseline_cost_usd: number;
  /**
   * The estimated cost of re-running them, USD: per job the larger of what it cost as served and its request's worst
   * case from the price catalog (libs/replay estimateRecordCost; a self-hosted model is priced by GPU time, which only
   * the call tells, so its catalog worst case is the default API price and can be below what it was billed).
   */
  estimated_cost_usd: number;
  price_catalog_version: string;
}

/** What a test can hook into. */
export interface ShadowRunHooks {
  signal?: AbortSignal;
  runId?: string;
}

/** A new shadow run id: `sr-<UTC yyyymmddhhmmss>-<6 hex>` (also the replay id that publishes its copies). */
export function newShadowRunId(now = new Date()): string {
  return `sr-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
}

/** The baseline facts of one job, gathered from the topics. */
interface JobFacts {
  judged?: InferenceJudged;
  completed?: InferenceCompleted;
  costUsd?: number;
  /** A copy's final status when it ended without an answer to judge (a template, a refusal, shed, failed, expired). */
  ended?: JobStatusChanged;
}

/** Whether a job status ends a copy with nothing for the judge: a template answer, or any end but completion. */
const endsUnjudged = (ev: JobStatusChanged): boolean =>
  (ev.state === 'completed' && ev.result?.finish_reason === 'template') || ev.state === 'failed' || ev.state === 'expired' || ev.state === 'cancelled';

/**
 * The candidate side of a copy that ended without an answer to judge: verdict TEMPLATE (the route's template answer) or
 * the state in capitals (FAILED with its error code in the text, EXPIRED, CANCELLED), quality 0 (as the canary
 * controller counts a template answer, ADR 0009), no cost.
 */
function endedSide(ev: JobStatusChanged): ShadowSide {
  const template = ev.state === 'completed';
  return {
    verdict: template ? 'TEMPLATE' : ev.state.toUpperCase(),
    quality: 0,
    text: template ? (ev.result?.text ?? '') : `${ev.error?.code ?? ev.state}: ${ev.error?.message ?? ''}`,
    latency_ms: null,
    cost_usd: 0,
    tier: ev.result?.tier ?? null,
    model: ev.result?.model ?? null,
    policy_version: ev.result?.policy_version ?? null,
  };
}

/** The completion cost a job was billed, USD: the sum of its COMPLETION cost records (an escalated job pays both attempts). */
function addCost(m: Map<string, JobFacts>, ev: CostRecorded): void {
  if (ev.job_id === null || ev.kind !== 'COMPLETION') return;
  const f = m.get(ev.job_id) ?? {};
  f.costUsd = (f.costUsd ?? 0) + ev.cost_usd;
  m.set(ev.job_id, f);
}

/** End to end, from validation to completion, ms: `occurred_at − (deadline_at − budget.latency_ms)` (ADR 0009). */
const latencyOf = (c: InferenceCompleted | undefined): number | null => (c ? c.occurred_at - (c.deadline_at - c.budget.latency_ms) : null);

function sideOf(f: JobFacts): ShadowSide {
  const j = f.judged;
  return {
    verdict: j?.verdict ?? null,
    quality: j ? (j.quality ?? j.groundedness) : null,
    text: j?.final_text ?? f.completed?.text ?? null,
    latency_ms: latencyOf(f.completed),
    cost_usd: f.costUsd ?? null,
    tier: j?.tier ?? null,
    model: j?.model ?? null,
    policy_version: j?.policy_version ?? null,
  };
}

/** The first `n` job ids by SHA-256 of the id: a uniform sample that a dry run and the run draw alike. */
export function sampleJobs(jobIds: Iterable<string>, n: number | undefined): string[] {
  const ids = [...jobIds];
  if (n === undefined || ids.length <= n) return ids.sort();
  const h = (id: string) => createHash('sha256').update(id).digest('hex');
  return ids
    .map((id) => [h(id), id] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([, id]) => id)
    .sort();
}

const count = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

function parseWindow(o: ShadowRunOptions): { from: number; to: number } {
  if (o.from === undefined || o.to === undefined) throw new CliError('--from and --to are required (the window of judged traffic to re-run)', 'missing_window');
  const from = parseBound(o.from);
  const to = parseBound(o.to);
  if (from.kind !== 'time' || to.kind !== 'time')
    throw new CliError('--from and --to are times here (ISO 8601, a UTC date, epoch ms or "now"), not offsets', 'invalid_window');
  if (from.ms >= to.ms) throw new CliError('--from must be before --to', 'invalid_window');
  return { from: from.ms, to: to.ms };
}

function positiveNumber(value: string, name: string, max: number): number {
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0) || n > max)
    throw new CliError(`--${name} expects a number in (0, ${max}], got "${value.slice(0, 40)}"`, 'invalid_arguments');
  return n;
}

function progressBar(json: boolean | undefined, label: string, total: number, unit: string): { update: (n: number) => void; stop: () => void } {
  if (json || !process.stderr.isTTY || total === 0) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

/** The version tuple of the candidate: policy version, its tier models and prompt templates, and the tenants' index versions. */
async function candidateTuple(pool: Pool, namespace: string, version: number, tenants: string[]): Promise<Record<string, unknown>> {
  let record;
  try {
    record = await new PolicyRepository(pool, namespace).show(version);
  } catch (err) {
    if (err instanceof PolicyStoreError && err.code === 'unknown_version')
      throw new CliError(`policy version ${version} does not exist in namespace ${namespace}`, 'unknown_version');
    throw err;
  }
  const doc = record.document;
  return {
    policy_namespace: namespace,
    policy_version: version,
    policy_sha256: record.sha256,
    models: Object.fromEntries(TIERS.map((t) => [t, doc.tiers[t]?.model ?? null])),
    prompt_templates: Object.fromEntries(TIERS.map((t) => [t, doc.tiers[t]?.prompt_template ?? null])),
    index_versions: await indexVersions(pool, tenants),
  };
}

async function indexVersions(pool: Pool, tenants: string[]): Promise<Record<string, string>> {
  const active = await new IndexVersionsRepository(pool).active();
  return Object.fromEntries(tenants.map((t) => [t, active.get(t) ? `${active.get(t)!.version} (${active.get(t)!.collection})` : 'v1 (shared collection)']));
}

/** The baseline's tuple: what served the sampled answers, as their records name it. */
async function baselineTuple(pool: Pool, namespace: string, judged: InferenceJudged[], tenants: string[]): Promise<Record<string, unknown>> {
  const versions = [...new Set(judged.map((j) => j.policy_version).filter((v): v is number => v !== null))].sort((a, b) => a - b);
  const repo = new PolicyRepository(pool, namespace);
  const templates: Record<string, unknown> = {};
  for (const v of versions) {
    const doc = await repo.show(v).then(
      (r) => r.document,
      () => undefined,
    );
    templates[String(v)] = doc ? Object.fromEntries(TIERS.map((t) => [t, doc.tiers[t]?.prompt_template ?? null])) : 'not in this namespace';
  }
  const models: Record<string, string[]> = {};
  for (const j of judged) models[j.tier] = [...new Set([...(models[j.tier] ?? []), j.model])].sort();
  return {
    policy_namespace: namespace,
    policy_versions: versions,
    models,
    prompt_templates: templates,
    // Judged records do not name the index version that served them: the tenants' active ones when the report was made.
    index_versions: await indexVersions(pool, tenants),
    judge_versions: [...new Set(judged.map((j) => j.judge_version).filter((v) => v !== null))].sort(),
  };
}

/**
 * `llmgov shadow` (issue 12 §5): re-runs the judged user jobs of a window under policy version `--version` without
 * affecting any user or job, judges both answers and reports the differences.
 *
 * 1. Follows the judged, completed, cost and validated topics from `--lookback` minutes before `--from` (its own
 *    consumer group, nothing committed) until it has read what they held at the start.
 * 2. Picks the judged user jobs of `[from, to)` matching `--tenant` and `--route` (the last judged record per job), and
 *    `--sample N` of them by job-id hash.
 * 3. With `--dry-run`, stops there and says what it would re-run and cost.
 * 4. Otherwise republishes those jobs' validated requests through replay's `shadow:<version>` target (rate limited,
 *    one Kafka transaction per chunk): the router decides each as copy `shadow:<run id>:<job id>` under the version.
 * 5. Waits up to `--wait` seconds for every copy to be judged and billed, then builds the report (libs/judging
 *    `buildShadowReport`) and writes `--report PATH` as PATH.json and PATH.md.
 * @throws CliError for bad input (codes: missing_window, invalid_window, invalid_arguments, unknown_version,
 *   nothing_to_run), kafkajs errors when the broker is unreachable.
 */
export async function shadowRunCommand(o: ShadowRunOptions, hooks: ShadowRunHooks = {}): Promise<ShadowRunReport | ShadowDryRun> {
  const window = parseWindow(o);
  if (o.version === undefined) throw new CliError('--version is required (the policy version to re-run the traffic under)', 'invalid_arguments');
  const version = o.version;
  const rate = o.rate === undefined ? undefined : parseRate(o.rate);
  const lookbackMs = positiveNumber(o.lookback, 'lookback', 7 * 24 * 60) * 60_000;
  const waitMs = positiveNumber(o.wait, 'wait', 24 * 3600) * 1000;
  const catalog = o.dryRun ? await loadCatalog(o.priceCatalog) : undefined;
  const runId = hooks.runId ?? newShadowRunId();
  const ns = new TopicNamespace(o.topicPrefix);
  const topic = {
    judged: ns.wire(Topics.inferenceJudged),
    completed: ns.wire(Topics.inferenceCompleted),
    cost: ns.wire(Topics.costRecorded),
    validated: ns.wire(Topics.inferenceValidated),
    status: ns.wire(Topics.jobStatus),
  };
  return withDatabase(async (pool) => {
    // Fails early with unknown_version, before any Kafka work.
    const candidate = await candidateTuple(pool, o.namespace, version, []);
    const { brokers, registryUrl } = kafkaSettings();
    const logger = createLogger('llmgov-shadow', 'silent');
    const kafka = createKafka('llmgov-shadow', brokers, logger);
    const registry = new SchemaRegistry({ host: registryUrl });
    const io = new KafkaReplayIO(kafka, registry, logger, runId);
    const follower = new TopicFollower(kafka, new AvroSerde(registry), logger);
    const facts = new Map<string, JobFacts>();
    const copies = new Map<string, JobFacts>();
    const requests = new Set<string>();
    let awaited: Map<string, string> | undefined; // copy id → user job id
    let onCopy: (() => void) | undefined;
    const onRecord = (r: FollowedRecord) => {
      if (r.value === null || typeof r.value !== 'object') return;
      const jobId = (r.value as { job_id?: string | null }).job_id;
      if (typeof jobId !== 'string') return;
      if (r.topic === topic.validated) {
        const v = r.value as InferenceRequestValidated;
        if (!isShadowJobId(jobId) && (o.tenant === undefined || v.tenant_id === o.tenant)) requests.add(jobId);
        return;
      }
      const into = isShadowJobId(jobId) ? (awaited?.has(jobId) ? copies : undefined) : facts;
      if (!into) return;
      if (r.topic === topic.status) {
        const ev = r.value as JobStatusChanged;
        if (into === copies && endsUnjudged(ev)) {
          copies.set(jobId, { ...copies.get(jobId), ended: ev });
          onCopy?.();
        }
        return;
      }
      if (r.topic === topic.cost) addCost(into, r.value as CostRecorded);
      else {
        const f = into.get(jobId) ?? {};
        if (r.topic === topic.judged) {
          const j = r.value as InferenceJudged;
          if (!f.judged || j.occurred_at >= f.judged.occurred_at) f.judged = j;
        } else {
          const c = r.value as InferenceCompleted;
          if (!f.completed || c.attempt >= f.completed.attempt) f.completed = c;
        }
        into.set(jobId, f);
      }
      if (into === copies) onCopy?.();
    };
    // Ctrl-C (or the caller's signal) stops publishing after the chunk in hand, or stops waiting: the report then has
    // what was judged so far, the rest listed as not judged.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    hooks.signal?.addEventListener('abort', onSignal, { once: true });
    try {
      const start = window.from - lookbackMs;
      const plan = await Promise.all(
        Object.values(topic).map(async (t) => {
          const offsets = await io.topicOffsets(t);
          return { topic: t, from: await io.offsetsAt(t, start, offsets.high), high: offsets.high };
        }),
      );
      await follower.start({ groupId: `llmgov-shadow-${runId}`, topics: plan.map((p) => ({ topic: p.topic, from: p.from })), onRecord });
      const reading = progressBar(o.json, 'reading', plan.length, 'topics');
      let read = 0;
      await Promise.all(plan.map((p) => follower.caughtUp(p.topic, p.high).then(() => reading.update(++read))));
      reading.stop();

      // The window's judged user jobs matching the filters (route: the policy route that decided them).
      const inWindow = [...facts.entries()].filter(
        ([, f]) =>
          f.judged !== undefined &&
          f.judged.shadow !== true &&
          f.judged.occurred_at >= window.from &&
          f.judged.occurred_at < window.to &&
          (o.tenant === undefined || f.judged.tenant_id === o.tenant) &&
          (o.route === undefined || f.judged.route === o.route),
      );
      const sample = sampleJobs(
        inWindow.map(([id]) => id),
        o.sample,
      );
      const sampled = sample.map((id) => facts.get(id)!);
      const judgedTimes = inWindow.map(([, f]) => f.judged!.occurred_at).sort((a, b) => a - b);
      if (catalog) {
        return {
          dry_run: true,
          version,
          window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
          judged_jobs: inWindow.length,
          by_tenant: count(inWindow.map(([, f]) => f.judged!.tenant_id)),
          by_route: count(inWindow.map(([, f]) => f.judged!.route ?? '-')),
          by_policy_version: count(inWindow.map(([, f]) => String(f.judged!.policy_version ?? '-'))),
          sampled: sample.length,
          requests_found: sample.filter((id) => requests.has(id)).length,
          first_judged_at: judgedTimes.length ? new Date(judgedTimes[0]!).toISOString() : null,
          last_judged_at: judgedTimes.length ? new Date(judgedTimes.at(-1)!).toISOString() : null,
          baseline_cost_usd: sampled.reduce((s, f) => s + (f.costUsd ?? 0), 0),
          estimated_cost_usd: sampled.reduce(
            (s, f) => s + Math.max(f.costUsd ?? 0, f.completed ? estimateRecordCost(f.completed, catalog, countTokens).microUsd / 1e6 : 0),
            0,
          ),
          price_catalog_version: catalog.version,
        } satisfies ShadowDryRun;
      }
      const runnable = sample.filter((id) => requests.has(id));
      if (runnable.length === 0)
        throw new CliError(
          `nothing to re-run: ${inWindow.length} judged jobs in the window match, ${sample.length} sampled, none with its request within ${o.lookback} min before --from`,
          'nothing_to_run',
        );
      awaited = new Map(runnable.map((id) => [shadowRunJobId(runId, id), id]));

      // Publish the copies: replay's shadow target over the validated topic, from the lookback to the end at the start.
      const validated = plan.find((p) => p.topic === topic.validated)!;
      const offsets = await io.topicOffsets(topic.validated);
      const ranges = resolveRanges(offsets, validated.from, validated.high);
      const publishing = progressBar(o.json, 'publishing', runnable.length, 'copies');
      const published = await runReplay({
        replayId: runId,
        topic: topic.validated,
        groupId: replayGroupId(runId),
        ranges,
        filter: {},
        target: shadowTarget(String(version), new Set(runnable)),
        io,
        ratePerSecond: rate,
        signal: stop.signal,
        onProgress: (p) => publishing.update(p.republished),
      });
      publishing.stop();
      // Not resumable: the run's replay group has served its purpose.
      await io.deleteGroup().catch(() => undefined);

      // Wait for the copies to be judged and billed (a copy that is never judged is reported as such).
      const settled = (f: JobFacts | undefined) =>
        f !== undefined && ((f.judged !== undefined && f.costUsd !== undefined) || (f.judged === undefined && f.ended !== undefined));
      const judgedCopies = () => [...awaited!.keys()].filter((id) => settled(copies.get(id))).length;
      const waiting = progressBar(o.json, 'judging', published.republished, 'copies');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          onCopy = undefined;
          stop.signal.removeEventListener('abort', done);
          resolve();
        }
        stop.signal.addEventListener('abort', done, { once: true });
        onCopy = () => {
          const n = judgedCopies();
          waiting.update(n);
          if (n >= published.republished) done();
        };
        onCopy();
      });
      waiting.stop();

      const tenants = [...new Set(runnable.map((id) => facts.get(id)!.judged!.tenant_id))].sort();
      const baselineJudged = runnable.map((id) => facts.get(id)!.judged!);
      const versions = {
        baseline: await baselineTuple(pool, o.namespace, baselineJudged, tenants),
        candidate: { ...candidate, index_versions: await indexVersions(pool, tenants) },
      };
      const pairs: ShadowPair[] = runnable.map((id) => {
        const f = facts.get(id)!;
        const copy = copies.get(shadowRunJobId(runId, id));
        return {
          job_id: id,
          tenant: f.judged!.tenant_id,
          route: f.judged!.route ?? '-',
          intent: intentOfReasons(f.completed?.decision_reasons),
          prompt: f.judged!.prompt,
          baseline: sideOf(f),
          candidate: copy?.judged ? sideOf(copy) : copy?.ended ? endedSide(copy.ended) : null,
        };
      });
      const report = buildShadowReport({
        key: sha256OfJson(versions).slice(0, 16),
        runId,
        createdAt: new Date(),
        window: { from: new Date(window.from), to: new Date(window.to) },
        filters: { tenant: o.tenant ?? null, route: o.route ?? null, sample: o.sample ?? null },
        versions,
        pairs,
      });
      if (o.report) await writeReport(o.report, report);
      return report;
    } finally {
      process.removeListener('SIGINT', onSignal);
      await follower.stop();
      await io.close();
    }
  });
}

/** Writes PATH.json and PATH.md (a PATH ending in .json or .md names both by its stem). */
async function writeReport(target: string, report: ShadowRunReport): Promise<void> {
  const stem = target.replace(/\.(json|md)$/i, '');
  await mkdir(path.dirname(path.resolve(stem)), { recursive: true });
  await writeFile(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${stem}.md`, shadowReportMarkdown(report));
}

const usd = (x: number) => (Number.isFinite(x) ? x.toFixed(6) : '-');
const fmtCounts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

/** A dry run as text. Pure. */
export function formatShadowDryRun(r: ShadowDryRun): string {
  return [
    `dry run: shadow run of policy version ${r.version} over ${r.window.from} .. ${r.window.to} (nothing published)`,
    `judged jobs in the window: ${r.judged_jobs}  would re-run: ${r.sampled} (requests found: ${r.requests_found})`,
    `by tenant: ${fmtCounts(r.by_tenant)}`,
    `by route:  ${fmtCounts(r.by_route)}`,
    `by policy version: ${fmtCounts(r.by_policy_version)}`,
    `judged between: ${r.first_judged_at ?? '-'} .. ${r.last_judged_at ?? '-'}`,
    `baseline completion cost of those jobs: ${usd(r.baseline_cost_usd)} USD`,
    `estimated cost of the re-run: ${usd(r.estimated_cost_usd)} USD (per job the larger of its cost as served and its worst case in price catalog ${r.price_catalog_version}), plus the judge's`,
    '',
  ].join('\n');
}

/** A run's summary as text. Pure. */
export function formatShadowRun(r: ShadowRunReport, reportPath: string | undefined): string {
  const o = r.overall;
  const signed = (x: number, d: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : '-');
  return [
    `shadow run ${r.run_id}: report key ${r.key}`,
    `paired (judged on both sides): ${o.paired} of ${o.jobs}; not judged: ${r.not_judged.length}`,
    `quality ${o.baseline.mean_quality.toFixed(3)} → ${o.candidate.mean_quality.toFixed(3)} (${signed(o.delta.mean_quality, 3)}); PASS rate ${signed(o.delta.pass_rate * 100, 1)} pts`,
    `cost per request ${signed(o.delta.cost_per_request_usd * 1e6, 0)} µUSD; p50 ${signed(o.delta.latency_p50_ms, 0)} ms; p95 ${signed(o.delta.latency_p95_ms, 0)} ms`,
    `answers changed: ${o.answers_changed}; verdicts changed: ${o.verdicts_changed}; regressions listed: ${r.regressions.length}`,
    ...(reportPath ? [`report: ${reportPath.replace(/\.(json|md)$/i, '')}.json and .md`] : []),
    '',
  ].join('\n');
}

/** Registers `llmgov shadow` (issue 12 §5). Reads KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL. */
export function registerShadowCommand(program: Command): void {
  withStoreOptions(
    program
      .command('shadow')
      .description(
        'Re-run the judged traffic of a window under another policy version (model, prompt, index and policy), without affecting any user or job; judge both answers and report the differences per tenant, route and intent.',
      )
      .option('--from <time>', 'start of the window of judged jobs: ISO 8601 time with a zone, a UTC date, epoch ms, or "now"')
      .option('--to <time>', 'end of the window, exclusive: same forms')
      .option('--version <n>', 'the policy version to re-run the traffic under (of --namespace)', positiveInt)
      .option('--tenant <id>', 'only jobs of this tenant')
      .option('--route <name>', 'only jobs of this policy route')
      .option('--sample <n>', 'at most N jobs, drawn by job-id hash (the same N for a dry run and the run)', positiveInt)
      .option('--rate <N/s>', 'copies published per second at most (e.g. 5/s)')
      .option('--report <path>', 'write the report to PATH.json and PATH.md')
      .option('--dry-run', 'say what would be re-run and what it would cost; publish nothing')
      .option('--lookback <minutes>', 'how far before --from the jobs’ requests are looked for', '60')
      .option('--wait <seconds>', 'how long to wait for the copies to be judged', '600')
      .addOption(new Option('--price-catalog <path>', 'price catalog for the dry-run estimate').env('CATALOG_PATH').default(DEFAULT_CATALOG))
      .addOption(new Option('--topic-prefix <prefix>', 'the Kafka namespace of the topics (tests and benchmarks)').env('KAFKA_TOPIC_PREFIX').default(''))
      .addHelpText(
        'after',
        `
Examples:
  llmgov shadow --from 2026-11-29T10:00:00Z --to 2026-11-29T11:00:00Z --version 4 --dry-run
  llmgov shadow --from 2026-11-29T10:00:00Z --to 2026-11-29T11:00:00Z --version 4 --tenant tenant-a --sample 200 --rate 5/s --report reports/v4`,
      ),
  ).action(async (opts: ShadowRunOptions) => {
    const r = await shadowRunCommand(opts).catch((err: unknown) => {
      throw err instanceof ReplayInputError ? new CliError(err.message, err.code) : err;
    });
    if (opts.json) printJson(r);
    else if ('dry_run' in r) process.stdout.write(formatShadowDryRun(r));
    else process.stdout.write(formatShadowRun(r, opts.report));
  });
}
