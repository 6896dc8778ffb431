import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import Table from 'cli-table3';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { awaitJobRecords, GoldenRepository, PolicyRepository, type GoldenItem } from '@llmgov/persistence';
import { CliError, actor, positiveInt, printJson, withDatabase, withStoreOptions, type StoreOptions } from '../cli.js';
import { aggregateEval, scoreItem, type EvalFigures, type ItemOutcome } from '@llmgov/judging';
import { submitAndWait, workerPool, type JobView } from '@llmgov/jobs-client';
import { goldenName } from './golden.js';

/** The local platform's API (`npm start`: ingest-validator on --base-port 18100). */
const DEFAULT_API_URL = 'http://127.0.0.1:18100';
/** The local tenants' API keys (tools/platform LOCAL_API_KEYS; local use only). */
const LOCAL_API_KEYS = 'tenant-a=dev-key-tenant-a,tenant-b=dev-key-tenant-b';
/** The metadata key the router reads a pinned policy version from (services/router PinnedPolicySource). */
const PIN_KEY = 'policy_version';
/** How long to wait after the last job for the judge's verdicts and the cost ledger to catch up, ms. */
const CATCH_UP_MS = 30_000;

export interface EvalOptions extends StoreOptions {
  golden: string;
  policy?: number;
  tenant?: string;
  concurrency: number;
  limit?: number;
  summary?: string;
  apiUrl: string;
  apiKeys: string;
  maxTokens: number;
  latencyBudgetMs: number;
  timeout: number;
}

/** `tenant=key,tenant=key` (the platform's API_KEYS format) as a map. */
export function parseApiKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0 || i === pair.length - 1) throw new CliError(`API keys: "${pair.slice(0, 40)}" is not tenant=key`, 'invalid_argument');
    keys.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return keys;
}

interface Tracked {
  item: GoldenItem;
  tenant: string;
  jobId: string | null;
  status: string;
  job: JobView | null;
  error: string | null;
}

/**
 * Submits one item as a job and polls it to a final state or the deadline (libs/jobs-client). The idempotency key (run
 * id + item id) makes a retried submit return the job already created. Billed under team and feature `eval`; pinned to
 * `pin` via metadata when given.
 */
async function runItem(t: Tracked, o: { api: string; key: string; runId: string; pin: number | null; opts: EvalOptions; deadline: number }): Promise<void> {
  const body = {
    prompt: t.item.prompt,
    idempotency_key: `eval:${o.runId}:${t.item.id}`,
    budget: { latency_ms: o.opts.latencyBudgetMs, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: o.opts.maxTokens, temperature: 0, rag: true },
    team: 'eval',
    feature: 'eval',
    ...(t.item.route ? { route: t.item.route } : {}),
    metadata: {
      golden_set: o.opts.golden,
      golden_item: t.item.item_key.slice(0, 1024),
      eval_run: o.runId,
      ...(o.pin !== null ? { [PIN_KEY]: String(o.pin) } : {}),
    },
  };
  const out = await submitAndWait(o.api, o.key, body, o.deadline);
  Object.assign(t, { jobId: out.jobId, status: out.status, job: out.job, error: out.error });
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

function figuresTable(rows: [string, EvalFigures][]): string {
  const t = new Table({
    head: ['intent', 'items', 'completed', 'EM %', 'F1 %', 'judge PASS %', 'halluc. %', 'cost USD', 'USD/1k', 'p50 ms', 'p95 ms'],
    style: { head: [], border: [] },
  });
  for (const [name, f] of rows)
    t.push(
      [
        name,
        f.n,
        f.completed,
        pct(f.exact_match),
        pct(f.f1),
        `${pct(f.judge_pass_rate)} (${f.judged})`,
        pct(f.hallucination_rate),
        f.cost_usd.toFixed(6),
        num(f.cost_per_1k_usd, 4),
        num(f.latency_p50_ms),
        num(f.latency_p95_ms),
      ].map(String),
    );
  return t.toString();
}

/** `llmgov eval`: runs a golden set through the running platform and stores the run. */
export function registerEvalCommand(program: Command): void {
  withStoreOptions(
    program
      .command('eval')
      .description(
        'run golden set NAME through the running platform (POST /v1/jobs, poll GET /v1/jobs/:id) and report, per intent and overall, exact match, F1, judge PASS rate, hallucination rate, cost and p95 latency; the run is stored for the regression gates',
      )
      .requiredOption('--golden <name>', 'the golden set (llmgov golden list)', goldenName)
      .option(
        '--policy <version>',
        'evaluate this policy version of --namespace, pinned per request, even when it is not active (default: the active version)',
        positiveInt,
      )
      .option('--tenant <tenant>', "submit every item as this tenant (default: each item's tenant)")
      .addOption(new Option('--concurrency <n>', 'jobs open at once').argParser(positiveInt).default(4))
      .option('--limit <n>', 'evaluate the first N items only', positiveInt)
      .option('--summary <path>', 'also write the summary as JSON to this file')
      .addOption(new Option('--api-url <url>', "the platform's API (ingest-validator)").env('LLMGOV_API_URL').default(DEFAULT_API_URL))
      .addOption(
        new Option('--api-keys <tenant=key,...>', 'API keys per tenant (the platform API_KEYS format)')
          .env('LLMGOV_API_KEYS')
          .default(process.env.API_KEYS ?? LOCAL_API_KEYS),
      )
      .addOption(new Option('--max-tokens <n>', 'max_tokens of every job (SQuAD answers are a few words)').argParser(positiveInt).default(32))
      .addOption(new Option('--latency-budget-ms <ms>', "every job's latency budget, ms").argParser(positiveInt).default(120_000))
      .addOption(new Option('--timeout <seconds>', 'give up waiting for jobs after this long').argParser(positiveInt).default(1800))
      .addHelpText(
        'after',
        `
The platform must be running (npm start) with the routers on --namespace's policies; items are answered with RAG, so a
SQuAD golden set needs its paragraphs indexed for its tenants (npm run demo indexes them, articles round-robin over
tenant-a,tenant-b, as golden create --tenant tenant-a,tenant-b assigns them). Jobs are billed to team and feature "eval".

Metrics (libs/judging/src/eval-metrics.ts): EM and F1 are SQuAD v1.1's official scoring, over all items (a job that did
not complete scores 0); judge PASS rate and hallucination rate are over judged items; a hallucination is a non-PASS
verdict whose answer has F1 < 0.5 against gold; latency is server-side, job created → completed (jobs table).

Examples:
  llmgov eval --golden squad-50
  llmgov eval --golden squad-50 --policy 3 --concurrency 8 --json --summary eval-v3.json`,
      ),
  ).action(async (opts: EvalOptions) => {
    const keys = parseApiKeys(opts.apiKeys);
    const api = opts.apiUrl.replace(/\/+$/, '');
    if (!/^https?:\/\/[^\s]+$/.test(api)) throw new CliError(`--api-url ${opts.apiUrl} is not an http(s) URL`, 'invalid_argument');
    await withDatabase(async (pool) => {
      const golden = new GoldenRepository(pool);
      const set = await golden.get(opts.golden);
      const items = await golden.items(set.id, opts.limit);
      if (items.length === 0) throw new CliError(`golden set ${set.name} has no items`, 'empty_golden_set');
      const policies = new PolicyRepository(pool, opts.namespace);
      const active = await policies.activeHead();
      // The version evaluated: --policy (pinned per request unless it is the active one) or the active one.
      if (opts.policy !== undefined) await policies.show(opts.policy);
      const version = opts.policy ?? active?.version ?? null;
      const pin = opts.policy !== undefined && opts.policy !== active?.version ? opts.policy : null;
      const tracked: Tracked[] = items.map((item) => ({
        item,
        tenant: opts.tenant ?? item.tenant_id ?? '',
        jobId: null,
        status: 'not_submitted',
        job: null,
        error: null,
      }));
      const noTenant = tracked.filter((t) => t.tenant === '');
      if (noTenant.length > 0)
        throw new CliError(`${noTenant.length} item(s) of ${set.name} have no tenant (e.g. ${noTenant[0]!.item.item_key}); pass --tenant`, 'no_tenant');
      const noKey = [...new Set(tracked.map((t) => t.tenant))].filter((t) => !keys.has(t));
      if (noKey.length > 0)
        throw new CliError(`no API key for tenant(s) ${noKey.join(', ')}; set --api-keys or LLMGOV_API_KEYS (tenant=key,...)`, 'no_api_key');

      const runId = randomUUID();
      const startedAt = new Date();
      const deadline = Date.now() + opts.timeout * 1000;
      if (!opts.json)
        console.log(
          `eval of golden set ${set.name} v${set.version} (${items.length} items) under policy ${opts.namespace}@${version ?? 'none (built-in rule)'}${pin !== null ? ' (pinned)' : ''} at ${api}`,
        );
      const bar = new cliProgress.SingleBar(
        {
          format: 'jobs final [{bar}] {value}/{total} | ETA {eta_formatted} | {failed} not completed',
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 5000,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(tracked.length, 0, { failed: 0 });
      let notCompleted = 0;
      await workerPool(tracked, opts.concurrency, async (t) => {
        await runItem(t, { api, key: keys.get(t.tenant)!, runId, pin, opts, deadline });
        if (t.status !== 'completed') notCompleted++;
        bar.increment(1, { failed: notCompleted });
      });
      bar.stop();

      // The judge's verdicts and the cost ledger are written downstream of the job's completion: wait (bounded) for them.
      const completed = tracked.filter((t) => t.status === 'completed' && t.jobId);
      const {
        records: rec,
        missingVerdicts,
        missingCosts,
      } = await awaitJobRecords(
        pool,
        tracked.map((t) => ({ jobId: t.jobId, status: t.status, job: t.job, error: t.error, submittedAt: 0, finalSeenAt: null })),
        CATCH_UP_MS,
      );

      const outcomes: (ItemOutcome & { t: Tracked })[] = tracked.map((t) => ({
        t,
        intent: t.item.intent,
        expected_answers: t.item.expected_answers,
        status: t.status,
        answer: t.status === 'completed' ? (t.job?.result?.text ?? '') : null,
        verdict: t.jobId && t.status === 'completed' ? (rec.verdicts.get(t.jobId) ?? null) : null,
        cost_usd: t.jobId ? (rec.costs.get(t.jobId) ?? null) : null,
        latency_ms: t.jobId && t.status === 'completed' ? (rec.latency.get(t.jobId) ?? null) : null,
      }));
      const figures = aggregateEval(outcomes);
      const statuses: Record<string, number> = {};
      for (const t of tracked) statuses[t.status] = (statuses[t.status] ?? 0) + 1;
      // Every completed answer states the policy version that decided it: a pinned run checks the pin was honoured.
      const versionsSeen: Record<string, number> = {};
      for (const t of completed) {
        const v = String(t.job?.result?.policy_version ?? 'none');
        versionsSeen[v] = (versionsSeen[v] ?? 0) + 1;
      }
      // Answers served from a cache (the router's decision reasons say so: exact_cache_hit, *_cache_hit_meets_quality→serve_cache).
      const cacheHits = completed.filter((t) =>
        (t.job?.result?.decision_reasons ?? []).some((r) => r === 'exact_cache_hit' || r.endsWith('→serve_cache')),
      ).length;
      const templates = completed.filter((t) => t.job?.result?.finish_reason === 'template').length;
      const wrongVersion = version === null ? 0 : completed.filter((t) => t.job?.result?.policy_version !== version).length;
      const errors: Record<string, number> = {};
      for (const t of tracked) if (t.error) errors[t.error.split(':')[0]!] = (errors[t.error.split(':')[0]!] ?? 0) + 1;
      const summary = {
        run_id: runId,
        golden: { name: set.name, version: set.version, items: items.length },
        policy: { namespace: opts.namespace, version, pinned: pin !== null, versions_seen: versionsSeen, wrong_version: wrongVersion },
        api_url: api,
        concurrency: opts.concurrency,
        statuses,
        errors,
        served: { from_cache: cacheHits, template: templates },
        catch_up: { missing_verdicts: missingVerdicts, missing_costs: missingCosts },
        overall: figures.overall,
        by_intent: figures.by_intent,
        started_at: startedAt.toISOString(),
        wall_seconds: (Date.now() - startedAt.getTime()) / 1000,
      };
      const evalRunId = await golden.recordRun({
        golden_set_id: set.id,
        golden_version: set.version,
        policy_namespace: opts.namespace,
        policy_version: version,
        pinned: pin !== null,
        summary,
        started_at: startedAt,
        created_by: actor(),
        results: outcomes.map((o) => {
          const s = scoreItem(o);
          return {
            item_id: o.t.item.id,
            job_id: o.t.jobId,
            status: o.status,
            answer: o.answer,
            exact_match: s.em,
            f1: s.f1,
            verdict: o.verdict,
            tier: o.t.job?.result?.tier ?? null,
            cost_usd: o.cost_usd,
            latency_ms: o.latency_ms,
          };
        }),
      });
      const out = { eval_run_id: evalRunId, ...summary };
      if (opts.summary) await writeFile(opts.summary, `${JSON.stringify(out, null, 2)}\n`);
      if (opts.json) printJson(out);
      else {
        console.log(figuresTable([...Object.entries(figures.by_intent), ['overall', figures.overall]]));
        console.log(
          `statuses: ${Object.entries(statuses)
            .map(([k, v]) => `${k} ${v}`)
            .join(
              ', ',
            )}; served from cache ${cacheHits}, template answers ${templates}${Object.keys(errors).length ? `; errors: ${JSON.stringify(errors)}` : ''}`,
        );
        console.log(
          `policy versions in the answers: ${JSON.stringify(versionsSeen)}; stored as eval run ${evalRunId} (wall ${summary.wall_seconds.toFixed(1)} s)`,
        );
        if (missingVerdicts + missingCosts > 0)
          console.log(`after ${CATCH_UP_MS / 1000} s: ${missingVerdicts} verdict(s) and ${missingCosts} cost record(s) still missing`);
        if (opts.summary) console.log(`summary written to ${opts.summary}`);
      }
      if ((statuses.not_final ?? 0) + (statuses.submit_error ?? 0) > 0 || wrongVersion > 0) {
        process.stderr.write(
          `eval: ${statuses.not_final ?? 0} job(s) not final, ${statuses.submit_error ?? 0} submit error(s), ${wrongVersion} answer(s) decided by another policy version than ${version}\n`,
        );
        process.exitCode = 1;
      }
    });
  });
}
