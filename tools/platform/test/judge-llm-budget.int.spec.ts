/**
 * The LLM judge governed by the policy, end to end on the real parts: the real judge and cost-attributor services
 * under their own KAFKA_TOPIC_PREFIX and policy namespace, the real judge pool (Gemma 3 270M on llama.cpp,
 * infra/pools/local-llama.json's `judge` section), Postgres, Redis. The policy version is applied, never activated: the
 * judge reads the version each completion names. It samples every S answer (`judge.llm_sample.S: 1`) and no answer of
 * the `contract-review` route (`judge.llm_sample: 0` on the route). Three tenants of this run only:
 * - `rich` (1 USD a day): the S answer is judged by the LLM, its call is billed as feature `judge` and settles its
 *   `judge:<job>:1` reservation;
 * - `poor` (0.01 USD a day, refuse; one call's worst case is 0.025 USD): the call is skipped with its reason, no bill;
 * - `rich` on contract-review: not sampled, nothing reserved.
 * Every wait is an `eventually`; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Topics, schemaVersionOf, type InferenceCompleted, type InferenceJudged, type UsageRecorded } from '@llmgov/contracts';
import { deterministicEventId, newEnvelope } from '@llmgov/kafka-runtime';
import { BudgetKeys, BudgetReservations, PolicyRepository, RedisBudgetLimits, createRedis, judgeReservationId, type Redis } from '@llmgov/persistence';
import { eventually } from '@llmgov/testing';
import { localEngines, repoRoot, spawnManaged, type ManagedProcess, tenantPolicy } from '../src/index.js';
import { PlatformTestStack, testLogDir } from './support/stack.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-jllm.${run}.`;
const namespace = `it-judge-llm-${run}`;
const rich = `jl-${run}-rich`;
const poor = `jl-${run}-poor`;
const enabled = Boolean(process.env.KAFKA_BROKERS && process.env.DATABASE_URL && process.env.REDIS_URL);

const stack = new PlatformTestStack(prefix, `it-jllm-${run}`);
let engine: ManagedProcess | undefined;
let redis: Redis;
const judged = new Map<string, InferenceJudged>();
const usages: UsageRecorded[] = [];

function policy() {
  return tenantPolicy(rich, 'judge-llm-test', (document) => {
    document.tenants[poor] = structuredClone(document.tenants[rich]!);
    document.judge = { llm_sample: { S: 1, M: 0, L: 0 } };
    document.tenants[rich]!.routes['contract-review']!.judge = { llm_sample: 0 };
    document.budgets = [
      { tenant: rich, period: 'day', limit_usd: 1, alert_at: 0.8, throttle: 'degrade' },
      { tenant: poor, period: 'day', limit_usd: 0.01, alert_at: 0.8, throttle: 'refuse' },
    ];
  });
}

function completion(tenant: string, jobId: string, route: string, version: number): InferenceCompleted {
  return {
    ...newEnvelope(tenant, jobId, schemaVersionOf(Topics.inferenceCompleted)),
    job_id: jobId,
    tier: 'S',
    model: 'smollm2-135m-instruct',
    shadow: false,
    endpoint: 'http://127.0.0.1:18001',
    text: 'The Normans were descended from Norse raiders.',
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 90, completion_tokens: 9 },
    timings: { queue_ms: 1, ttft_ms: 2, tpot_ms: 3, e2e_ms: 30 },
    context: [{ chunk_id: `d-${run}#0`, document_id: `d-${run}`, text: 'The Normans were descended from Norse raiders and pirates from Denmark.', score: 0.9 }],
    prompt: 'Who were the Normans descended from?',
    team: 'qa',
    feature: 'it',
    cache_key: `k-${jobId}`,
    system_prompt: null,
    attempt: 1,
    max_tokens: 32,
    temperature: 0,
    deadline_at: Date.now() + 300_000,
    budget: { latency_ms: 300_000, max_cost_usd: 0.05, min_quality: 0.2 },
    route,
    policy_version: version,
    decision_reasons: [],
  };
}

describe('the LLM judge under the policy and the budgets', { skip: enabled ? false : 'the local stack is not configured', timeout: 900_000 }, () => {
  before(
    async () => {
      await stack.open({ producer: true });
      redis = createRedis(stack.config.REDIS_URL);
      await stack.consume([Topics.inferenceJudged, Topics.usageRecorded], async (name, value) => {
        if (name === Topics.inferenceJudged) {
          const ev = await stack.serde.decode<InferenceJudged>(value);
          judged.set(ev.job_id, ev);
        } else usages.push(await stack.serde.decode<UsageRecorded>(value));
      });
      // The judge pool's engine only (Gemma 3 270M, the pool file's judge url), as the platform starts it.
      const set = localEngines('llama', repoRoot());
      const m = set.engines.find((e) => e.name === 'llama-m')!;
      engine = await spawnManaged({
        name: `llama-m-it-${run}`,
        ...(m.command ? { command: m.command } : {}),
        script: m.script,
        args: m.args,
        env: {},
        port: m.port,
        logDir: testLogDir(),
        readyPath: m.readyPath,
        readyTimeoutMs: m.readyTimeoutMs,
      });
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await stack.stopPlatform();
    await engine?.stop();
    for (const t of [rich, poor]) {
      const keys = await redis.keys(`budget:{${t}}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.srem(BudgetKeys.tenants, t);
      await stack.pool.query('DELETE FROM cost_ledger WHERE tenant_id = $1', [t]);
      await stack.pool.query('DELETE FROM cost_rollups WHERE tenant_id = $1', [t]);
    }
    redis?.disconnect();
    await stack.close();
  });

  it('judges a sampled S answer with the LLM and bills it to feature judge, skips the call when the budget refuses, and skips an unsampled route', async (t) => {
    const repo = new PolicyRepository(stack.pool, namespace);
    const version = (await repo.apply(policy())).version;
    await stack.start({
      basePort: 18880,
      engines: false,
      engine: 'llama',
      services: ['judge', 'cost-attributor'],
      // Lexical scores only: the embeddings server is not started (this test is about the LLM judge).
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn', EMBEDDINGS: 'local' },
    });
    const jobs = { sampled: `jl-${run}-sampled`, refused: `jl-${run}-refused`, unsampled: `jl-${run}-unsampled` };
    const send = (c: InferenceCompleted) => stack.send(Topics.inferenceCompleted, c.job_id, c);
    await send(completion(rich, jobs.sampled, 'squad-qa', version));
    await send(completion(poor, jobs.refused, 'squad-qa', version));
    await send(completion(rich, jobs.unsampled, 'contract-review', version));
    const all = await eventually('the three completions judged', async () => (Object.values(jobs).every((j) => judged.has(j)) ? judged : undefined), {
      timeoutMs: 600_000,
      intervalMs: 500,
    });
    const sampled = all.get(jobs.sampled)!;
    const refused = all.get(jobs.refused)!;
    const unsampled = all.get(jobs.unsampled)!;
    t.diagnostic(
      `sampled: ${sampled.judge_method} llm_support ${sampled.llm_support} reasons ${sampled.reasons.join(',')}; refused: ${refused.reasons.join(',')}`,
    );

    assert.equal(sampled.judge_method, 'LLM');
    assert.ok(sampled.llm_support !== null && sampled.llm_support >= 0 && sampled.llm_support <= 1);
    const bill = await eventually('the judge call billed', async () => usages.find((u) => u.job_id === jobs.sampled));
    assert.deepEqual([bill.kind, bill.feature, bill.route, bill.policy_version, bill.team], ['JUDGE', 'judge', 'squad-qa', version, 'qa']);
    assert.equal(bill.event_id, deterministicEventId(jobs.sampled, '1', 'judge-usage'));
    assert.ok(bill.prompt_tokens > 0, 'the engine reported the prompt tokens');
    const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
    const settled = await eventually('the judge reservation settled to the ledger cost', async () => {
      const r = await budgets.get(rich, judgeReservationId(jobs.sampled, 1));
      return r?.state === 'settled' ? r : undefined;
    });
    const { rows } = await stack.pool.query<{ feature: string; kind: string; route: string; cost_micro_usd: string }>(
      'SELECT feature, kind, route, cost_micro_usd FROM cost_ledger WHERE usage_event_id = $1',
      [bill.event_id],
    );
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]!.feature, rows[0]!.kind, rows[0]!.route], ['judge', 'JUDGE', 'squad-qa']);
    assert.equal(settled.actualMicroUsd, Number(rows[0]!.cost_micro_usd));
    assert.ok(settled.actualMicroUsd! <= settled.amountMicroUsd, 'the bill is within the worst case reserved');
    t.diagnostic(
      `judge call: ${bill.prompt_tokens} prompt tokens, ${bill.e2e_ms.toFixed(0)} ms, billed ${rows[0]!.cost_micro_usd} micro-USD of ${settled.amountMicroUsd} reserved`,
    );

    assert.equal(refused.judge_method, 'DETERMINISTIC');
    assert.equal(refused.llm_support, null);
    assert.ok(refused.reasons.includes('llm_judge_skipped:budget_reservation_refused'), refused.reasons.join(','));
    assert.equal(await budgets.get(poor, judgeReservationId(jobs.refused, 1)), undefined);

    assert.equal(unsampled.judge_method, 'DETERMINISTIC');
    assert.ok(!unsampled.reasons.some((r) => r.startsWith('llm_judge_skipped')));
    assert.equal(await budgets.get(rich, judgeReservationId(jobs.unsampled, 1)), undefined);
    assert.deepEqual(
      usages.filter((u) => u.job_id !== jobs.sampled).map((u) => u.job_id),
      [],
      'no bill for the skipped calls',
    );
  });
});
