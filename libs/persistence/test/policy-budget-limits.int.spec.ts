/**
 * The active policy's budgets as the reservation limits, against the real Postgres and Redis of the local stack
 * (`infra/local/up.sh`, then `set -a; . .local/stack.env`): a PolicyWatcher follows a namespace and applies each
 * version to PolicyBudgetLimits, as the router's ActivePolicySource and the cost-attributor do; reservations go
 * through EffectiveBudgetLimits (policy budgets, operators' overrides winning). Every test has its own namespace and
 * tenant; the live `default` namespace is only read.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { parsePolicyText, policyTemplateRefs, templateFileName, type PolicyBudget, type PolicyDocument } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import {
  BudgetKeys,
  BudgetReservations,
  DEFAULT_POLICY_NAMESPACE,
  EffectiveBudgetLimits,
  PolicyBudgetLimits,
  PolicyRepository,
  PolicyWatcher,
  RedisBudgetLimits,
  createPgPool,
  createRedis,
  migrate,
  type Redis,
} from '../src/index.js';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const repoFile = (rel: string) => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const localPolicy = parsePolicyText(readFileSync(repoFile('infra/policies/local.yaml'), 'utf8'), 'local.yaml');
/** Issue 10: a newly activated version applies within 5 s. The awaits of a new version fail after that long. */
const WITHIN_5_S = 5000;
const run = randomUUID().slice(0, 8);

/** The local policy with tenant-a's routes under the test tenant `tenant`, and `budgets` as its only budgets. */
function policyFor(tenant: string, budgets: Omit<PolicyBudget, 'tenant'>[], extraTenants: Record<string, Omit<PolicyBudget, 'tenant'>[]> = {}) {
  const document: PolicyDocument = structuredClone(localPolicy);
  const routes = document.tenants['tenant-a']!;
  document.tenants = { [tenant]: routes, ...Object.fromEntries(Object.keys(extraTenants).map((t) => [t, routes])) };
  document.budgets = [...budgets.map((b) => ({ tenant, ...b })), ...Object.entries(extraTenants).flatMap(([t, bs]) => bs.map((b) => ({ tenant: t, ...b })))];
  const templates = policyTemplateRefs(document).map((ref) => ({
    ...ref,
    content: JSON.parse(readFileSync(repoFile(`infra/prompts/${templateFileName(ref)}`), 'utf8')) as Record<string, unknown>,
  }));
  return { document, templates };
}

const day = (limit_usd: number, more: Partial<PolicyBudget> = {}): Omit<PolicyBudget, 'tenant'> => ({
  period: 'day',
  limit_usd,
  alert_at: 0.8,
  throttle: 'degrade',
  ...more,
});

describe('policy budgets as reservation limits', { skip: DATABASE_URL && REDIS_URL ? false : 'DATABASE_URL and REDIS_URL are needed' }, () => {
  let pool: pg.Pool;
  let redis: Redis;
  let routers: Redis[];
  const watchers: PolicyWatcher[] = [];
  const tenants: string[] = [];
  let n = 0;
  const newTenant = () => {
    const t = `pb-${run}-${n++}`;
    tenants.push(t);
    return t;
  };

  /** A follower of `namespace`, wired as the services wire theirs: every loaded version is applied to the limits. */
  async function follow(namespace: string): Promise<PolicyBudgetLimits> {
    const limits = new PolicyBudgetLimits();
    const watcher = new PolicyWatcher({ connectionString: DATABASE_URL!, namespace, pool });
    watcher.on('change', (p) => limits.apply({ namespace, version: p.version, document: p.document }));
    watchers.push(watcher);
    const first = await watcher.start();
    if (first) limits.apply({ namespace, version: first.version, document: first.document });
    return limits;
  }
  const inForce = (limits: PolicyBudgetLimits, version: number) =>
    eventually(`version ${version}'s budgets in force`, async () => limits.version()?.version === version, { timeoutMs: WITHIN_5_S, intervalMs: 20 });

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 8 });
    redis = createRedis(REDIS_URL!);
    routers = Array.from({ length: 8 }, () => createRedis(REDIS_URL!));
  });
  after(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    for (const t of tenants) {
      const keys = await redis.keys(`budget:{${t}}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.srem(BudgetKeys.tenants, t);
    }
    for (const r of [redis, ...routers]) r.disconnect();
    await pool.end();
  });

  it('activating a version with a budget refuses a reservation over it; rollback restores the previous limits; an override wins until unset', async () => {
    const tenant = newTenant();
    const namespace = `test-budgets-${randomUUID()}`;
    const repo = new PolicyRepository(pool, namespace);
    const policy = await follow(namespace);
    const overrides = new RedisBudgetLimits(redis);
    const budgets = new BudgetReservations(redis, { limits: new EffectiveBudgetLimits(overrides, policy) });
    const reserve = (id: string, usd: number) => budgets.reserve({ reservationId: id, tenant, route: 'squad-qa', amountMicroUsd: usd * 1e6, leaseMs: 60_000 });

    const v1 = await repo.apply({ ...policyFor(tenant, [day(1)]), created_by: 'test' });
    const v2 = await repo.apply({ ...policyFor(tenant, [day(1), day(0.5, { route: 'squad-qa', throttle: 'refuse' })]), created_by: 'test' });
    await repo.activate(v1.version, 'test');
    await inForce(policy, v1.version);
    const a = await reserve('a', 0.7);
    assert.equal(a.ok, true, 'v1: 0.7 of a 1 USD day budget fits');
    assert.equal((await budgets.release(tenant, 'a')).released, true);

    await repo.activate(v2.version, 'test');
    await inForce(policy, v2.version);
    const b = await reserve('b', 0.7);
    assert.equal(b.status, 'refused', 'v2: 0.7 is over the 0.5 USD route budget');
    if (b.status !== 'refused') return;
    assert.deepEqual(
      b.refusals.map((f) => [f.scope, f.period, f.limitMicroUsd, f.throttle, f.origin]),
      [['route:squad-qa', 'day', 500_000, 'refuse', { kind: 'policy', namespace, version: v2.version }]],
    );
    assert.equal(b.throttle, 'refuse');
    assert.equal(b.remainingMicroUsd, 500_000);
    assert.match(b.message, new RegExp(`^budget_exceeded: route:squad-qa day budget \\S+ \\(policy ${namespace} v${v2.version}\\): limit 0\\.500000 USD`));

    await repo.rollback('test');
    await inForce(policy, v1.version);
    assert.equal((await reserve('c', 0.7)).ok, true, 'rolled back to v1: the route budget is gone, 0.7 fits again');
    assert.equal((await budgets.release(tenant, 'c')).released, true);

    // An operator's override wins over the policy, keeps the policy's throttle, and says what it replaces.
    await overrides.set(tenant, { kind: 'tenant' }, 'day', 100_000);
    const d = await reserve('d', 0.2);
    assert.equal(d.status, 'refused');
    if (d.status !== 'refused') return;
    assert.deepEqual(d.refusals[0]!.origin, { kind: 'override', shadows: { namespace, version: v1.version, limitMicroUsd: 1_000_000 } });
    assert.match(d.message, /tenant day budget \S+ \(override\): limit 0\.100000 USD/);
    await overrides.set(tenant, { kind: 'tenant' }, 'day', null);
    assert.equal((await reserve('e', 0.2)).ok, true, 'the override removed, the policy budget applies again');
  });

  it("a test namespace's activation does not change the default namespace's limits", async () => {
    const tenant = newTenant();
    const live = await follow(DEFAULT_POLICY_NAMESPACE);
    const liveVersion = live.version();
    const liveTenantA = live.list('tenant-a');
    const overridesTenantA = await redis.hgetall(BudgetKeys.limits('tenant-a'));

    // The test namespace declares budgets for its own tenant and for the live tenant-a (a tiny one, refusing).
    const namespace = `test-budgets-${randomUUID()}`;
    const repo = new PolicyRepository(pool, namespace);
    const test = await follow(namespace);
    const v = await repo.apply({ ...policyFor(tenant, [day(0.01)], { 'tenant-a': [day(0.000001, { throttle: 'refuse' })] }), created_by: 'test' });
    await repo.activate(v.version, 'test');
    await inForce(test, v.version);
    assert.equal(test.list('tenant-a')[0]?.limitMicroUsd, 1, 'the test namespace has its tiny tenant-a budget');

    // The default follower heard the same NOTIFY channel (and polls the same table): nothing changed for it.
    assert.deepEqual(live.version(), liveVersion);
    assert.deepEqual(live.list('tenant-a'), liveTenantA);
    assert.deepEqual(live.list(tenant), []);
    assert.deepEqual(await redis.hgetall(BudgetKeys.limits('tenant-a')), overridesTenantA, 'no limit was written to Redis');
    assert.deepEqual(await redis.exists(BudgetKeys.limits(tenant)), 0);
  });

  it('300 concurrent reservations from 8 instances against a policy budget that fits 50 admit exactly 50', async () => {
    const tenant = newTenant();
    const namespace = `test-budgets-${randomUUID()}`;
    const repo = new PolicyRepository(pool, namespace);
    const policy = await follow(namespace);
    const amount = 1_000;
    // 50.5 reservations of 0.001 USD: a day budget of 0.0505 USD.
    const v = await repo.apply({ ...policyFor(tenant, [day(0.0505)]), created_by: 'test' });
    await repo.activate(v.version, 'test');
    await inForce(policy, v.version);
    const instances = routers.map((r) => new BudgetReservations(r, { limits: new EffectiveBudgetLimits(new RedisBudgetLimits(r), policy) }));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        instances[i % instances.length]!.reserve({ reservationId: `r-${i}`, tenant, amountMicroUsd: amount, leaseMs: 60_000 }),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 50);
    for (const r of results) if (!r.ok) assert.equal(r.status, 'refused');
    const snapshot = await instances[0]!.snapshot(tenant);
    const dayCounter = snapshot.counters.find((c) => c.scope.kind === 'tenant' && c.period === 'day');
    assert.equal(dayCounter?.reservedMicroUsd, 50 * amount, 'reserved no more than the budget');
    assert.ok(dayCounter!.reservedMicroUsd + dayCounter!.spentMicroUsd <= 50_500);
  });
});
