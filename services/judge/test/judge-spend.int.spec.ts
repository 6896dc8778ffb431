/**
 * The LLM judge's budget reservations on the real parts of the local stack (`infra/local/up.sh`, then
 * `set -a; . .local/stack.env`): BudgetJudgeSpend through BudgetReservations (Redis) with the budgets of the policy
 * version that decided the job (Postgres; own namespace per run, never activated, the live `default` untouched), and
 * PolicyVersions reading that version's `judge` block. Every test has its own tenant and job ids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parsePolicyText, policyLlmSampleRate, policyTemplateRefs, templateFileName, type PolicyBudget, type PolicyDocument } from '@llmgov/policy';
import {
  BudgetReservations,
  EffectiveBudgetLimits,
  PolicyBudgetLimits,
  PolicyRepository,
  RedisBudgetLimits,
  createPgPool,
  createRedis,
  migrate,
  type Redis,
} from '@llmgov/persistence';
import type { InferenceCompleted } from '@llmgov/contracts';
import { BudgetJudgeSpend, judgeReservationId, judgeWorstCaseMicroUsd } from '../src/services/judge-spend.js';
import { PolicyVersions } from '../src/services/policy-versions.js';
import { loadJudgePool } from '../src/services/llm-judge.client.js';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const repoFile = (rel: string) => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const localPolicy = parsePolicyText(readFileSync(repoFile('infra/policies/local.yaml'), 'utf8'), 'local.yaml');
const run = randomUUID().slice(0, 8);

/** The local policy with tenant-a's routes under `tenant` and these budgets only. */
function policyFor(tenant: string, budgets: Omit<PolicyBudget, 'tenant'>[]) {
  const document: PolicyDocument = structuredClone(localPolicy);
  document.tenants = { [tenant]: document.tenants['tenant-a']! };
  document.budgets = budgets.map((b) => ({ tenant, ...b }));
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(repoFile(`infra/prompts/${templateFileName(ref)}`), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates, created_by: 'judge-spend-test' };
}

function completion(tenant: string, jobId: string, policyVersion: number): InferenceCompleted {
  return {
    event_id: randomUUID(),
    tenant_id: tenant,
    occurred_at: Date.now(),
    schema_version: 1,
    correlation_id: jobId,
    job_id: jobId,
    shadow: false,
    tier: 'S',
    model: 'smollm2-135m-instruct',
    endpoint: null,
    text: 'Norse raiders.',
    finish_reason: 'stop',
    from_cache: false,
    usage: { prompt_tokens: 120, completion_tokens: 9 },
    timings: { queue_ms: 1, ttft_ms: 2, tpot_ms: 3, e2e_ms: 30 },
    context: [],
    prompt: 'Who were the Normans?',
    team: 'qa',
    feature: null,
    cache_key: 'k',
    system_prompt: null,
    attempt: 1,
    max_tokens: 32,
    temperature: 0,
    deadline_at: Date.now() + 60_000,
    budget: { latency_ms: 30_000, max_cost_usd: 0.005, min_quality: 0.5 },
    route: 'squad-qa',
    policy_version: policyVersion,
    decision_reasons: [],
  };
}

describe('BudgetJudgeSpend on the stack', { skip: DATABASE_URL && REDIS_URL ? false : 'DATABASE_URL and REDIS_URL are needed' }, () => {
  let pool: ReturnType<typeof createPgPool>;
  let redis: Redis;
  const namespace = `test-judge-spend-${run}`;
  const worst = judgeWorstCaseMicroUsd(loadJudgePool(repoFile('infra/pools/local-llama.json'))!);

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 4 });
    redis = createRedis(REDIS_URL!);
  });
  after(async () => {
    redis.disconnect();
    await pool.end();
  });

  function spendOn() {
    const limits = new PolicyBudgetLimits();
    const reservations = new BudgetReservations(redis, { limits: new EffectiveBudgetLimits(new RedisBudgetLimits(redis), limits) });
    return { spend: new BudgetJudgeSpend(reservations, limits, new PolicyVersions(new PolicyRepository(pool, namespace))), reservations };
  }

  it("reserves the worst case under the job's tenant, team and route budgets of the deciding version, once per attempt", async () => {
    const tenant = `jspend-${run}-rich`;
    const { version } = await new PolicyRepository(pool, namespace).apply(
      policyFor(tenant, [{ period: 'day', limit_usd: 1, alert_at: 0.8, throttle: 'degrade' }]),
    );
    const { spend, reservations } = spendOn();
    const c = completion(tenant, `job-${run}-rich`, version);
    assert.deepEqual(await spend.reserve(c, worst, 90_000), { ok: true });
    assert.deepEqual(await spend.reserve(c, worst, 90_000), { ok: true }, 'a redelivery finds it already held');
    const held = await reservations.get(tenant, judgeReservationId(c.job_id, 1));
    assert.equal(held?.state, 'held');
    assert.equal(held?.amountMicroUsd, worst);
    assert.equal(held?.jobId, c.job_id);
    assert.deepEqual(held?.scopes.map((s) => s.kind).sort(), ['route', 'team', 'tenant']);
    await spend.release(c);
    assert.equal((await reservations.get(tenant, judgeReservationId(c.job_id, 1)))?.state, 'released');
  });

  it("is refused by a budget of the deciding version that the call's worst case would exceed, with the budget's message", async () => {
    const tenant = `jspend-${run}-poor`;
    // 0.01 USD a day: less than one call's worst case (30 s at 3 USD per GPU-hour = 0.025 USD).
    const { version } = await new PolicyRepository(pool, namespace).apply(
      policyFor(tenant, [{ period: 'day', limit_usd: 0.01, alert_at: 0.8, throttle: 'refuse' }]),
    );
    const { spend, reservations } = spendOn();
    const c = completion(tenant, `job-${run}-poor`, version);
    const r = await spend.reserve(c, worst, 90_000);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.message : '', /budget_exceeded/);
    assert.match(!r.ok ? r.message : '', new RegExp(`policy ${namespace} v${version}`));
    assert.equal(await reservations.get(tenant, judgeReservationId(c.job_id, 1)), undefined, 'nothing is held');
  });

  it("reads the judge block of the version that decided the job, so a new version's rates apply from its first job", async () => {
    const tenant = `jspend-${run}-rates`;
    const repo = new PolicyRepository(pool, namespace);
    const first = policyFor(tenant, []);
    delete first.document.judge; // a version written before the block (local.yaml has one)
    for (const route of Object.values(first.document.tenants[tenant]!.routes)) delete route.judge;
    const v1 = (await repo.apply(first)).version;
    const second = policyFor(tenant, []);
    second.document.judge = { llm_sample: { S: 0, M: 1 } };
    second.document.tenants[tenant]!.routes['contract-review']!.judge = { llm_sample: 0.5 };
    const v2 = (await repo.apply(second)).version;
    const versions = new PolicyVersions(repo);
    const at = (route: string, tier: 'S' | 'M' | 'L') => ({ tenant, route, tier });
    assert.equal(policyLlmSampleRate((await versions.document(v1))!, at('squad-qa', 'S')), undefined);
    assert.equal(policyLlmSampleRate((await versions.document(v2))!, at('squad-qa', 'S')), 0);
    assert.equal(policyLlmSampleRate((await versions.document(v2))!, at('squad-qa', 'M')), 1);
    assert.equal(policyLlmSampleRate((await versions.document(v2))!, at('contract-review', 'M')), 0.5);
    assert.equal(await versions.document(v2 + 1000), undefined, 'a version this namespace does not have');
  });
});
