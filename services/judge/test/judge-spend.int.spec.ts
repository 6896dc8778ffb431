/**
 * The LLM judge's budget reservations on the real parts of the local stack (`infra/local/up.sh`, then
 * `set -a; . .local/stack.env`): BudgetJudgeSpend through BudgetReservations (Redis) with the budgets of the policy
 * version that decided the job (Postgres; own namespace per run, never activated, the live `default` untouched), and
 * PolicyVersions reading that version's `judge` block. Every test has its own tenant and job ids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { policyLlmSampleRate } from '@llmgov/policy';
import { PolicyRepository, type createPgPool, type Redis } from '@llmgov/persistence';
import { BudgetJudgeSpend, judgeReservationId, judgeWorstCaseMicroUsd } from '../src/services/judge-spend.js';
import { PolicyVersions } from '../src/services/policy-versions.js';
import { loadJudgePool } from '../src/services/llm-judge.client.js';
import { completionOf, needsStores, openStores, policyReservations, repoFile, tenantPolicy } from './support.js';

const run = randomUUID().slice(0, 8);

/** The local policy with tenant-a's routes under `tenant` and these budgets only. */
const policyFor = (tenant: string, budgets: Parameters<typeof tenantPolicy>[1]) => ({ ...tenantPolicy(tenant, budgets), created_by: 'judge-spend-test' });

const completion = (tenant: string, jobId: string, policyVersion: number) =>
  completionOf(tenant, jobId, policyVersion, { text: 'Norse raiders.', team: 'qa', max_tokens: 32 });

describe('BudgetJudgeSpend on the stack', { skip: needsStores }, () => {
  let pool: ReturnType<typeof createPgPool>;
  let redis: Redis;
  let close: () => Promise<void>;
  const namespace = `test-judge-spend-${run}`;
  const worst = judgeWorstCaseMicroUsd(loadJudgePool(repoFile('infra/pools/local-llama.json'))!);

  before(async () => {
    ({ pool, redis, close } = await openStores());
  });
  after(() => close());

  function spendOn() {
    const { limits, reservations } = policyReservations(redis);
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
