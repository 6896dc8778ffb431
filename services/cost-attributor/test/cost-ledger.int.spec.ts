import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgPool, createRedis, migrate, RedisKeys, type Pool, type Redis } from '@llmgov/persistence';
import { CostLedgerRepository, type LedgerEntry } from '../src/repositories/cost-ledger.repository.js';
import { BudgetStateRepository, budgetAlertKey } from '../src/repositories/budget-state.repository.js';

// Needs the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`); skipped when the variables are absent.
const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

/**
 * Registers the enclosing describe's hooks: a migrated Postgres pool and a CostLedgerRepository on it (set before its
 * tests run); afterwards `tenant`'s ledger rows and roll-ups are deleted and the pool ended.
 */
function ledgerOnPostgres(tenant: string): { pool: Pool; repo: CostLedgerRepository } {
  const db = {} as { pool: Pool; repo: CostLedgerRepository };
  before(async () => {
    await migrate(DATABASE_URL!);
    db.pool = createPgPool(DATABASE_URL!);
    db.repo = new CostLedgerRepository(db.pool);
  });
  after(async () => {
    await db.pool.query('DELETE FROM cost_ledger WHERE tenant_id = $1', [tenant]);
    await db.pool.query('DELETE FROM cost_rollups WHERE tenant_id = $1', [tenant]);
    await db.pool.end();
  });
  return db;
}

describe('CostLedgerRepository against Postgres', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set' }, () => {
  const tenant = `it-${randomUUID().slice(0, 8)}`;
  const db = ledgerOnPostgres(tenant);

  const entry = (overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
    usageEventId: randomUUID(),
    tenantId: tenant,
    jobId: randomUUID(),
    team: 'search',
    feature: '',
    kind: 'COMPLETION',
    model: 'local-sim-m',
    tier: 'M',
    route: '',
    day: '2026-11-05',
    promptTokens: 100,
    completionTokens: 20,
    gpuSeconds: 1.5,
    costUsd: 0.0012345678,
    priceCatalogVersion: 'it',
    ...overrides,
  });

  it('accounts a usage event once, even when delivered twice concurrently', async () => {
    const e = entry();
    // Three deliveries race; any one of them may win the insert, and the other two must return what it stored.
    const results = await Promise.all([db.repo.record(e), db.repo.record(e), db.repo.record({ ...e, costUsd: 99 })]);
    const winners = results.filter((r) => r.inserted);
    assert.equal(winners.length, 1);
    for (const r of results) assert.equal(r.costUsd, winners[0]!.costUsd, 'a replay returns the stored cost, never a new price');
    const rollup = await db.pool.query(
      'SELECT requests, prompt_tokens::int AS p, completion_tokens::int AS c, cost_usd::numeric::float8 AS usd FROM cost_rollups WHERE tenant_id = $1',
      [tenant],
    );
    assert.deepEqual(rollup.rows, [{ requests: 1, p: 100, c: 20, usd: winners[0]!.costUsd }]);
    // Sequential replays of a stored event with a new price change nothing.
    const replay = await db.repo.record({ ...e, costUsd: 42 });
    assert.deepEqual([replay.inserted, replay.costUsd], [false, winners[0]!.costUsd]);
  });

  it('sums the month to date in micro-USD across days, excluding other months', async () => {
    const before = await db.repo.monthToDateMicroUsd(tenant, '2026-11'); // what the previous test left (its winner's price)
    await db.repo.record(entry({ day: '2026-11-30', costUsd: 0.5 }));
    await db.repo.record(entry({ day: '2026-11-05', costUsd: 0.0000014 }));
    await db.repo.record(entry({ day: '2026-12-01', costUsd: 7 }));
    await db.repo.record(entry({ day: '2026-10-31', costUsd: 3 }));
    assert.equal((await db.repo.monthToDateMicroUsd(tenant, '2026-11')) - before, 500_001); // 0.5 + 0.0000014 USD, rounded to micro-USD
    assert.equal(await db.repo.monthToDateMicroUsd(tenant, '2026-12'), 7_000_000);
    assert.equal(await db.repo.monthToDateMicroUsd(`${tenant}-none`, '2026-11'), 0);
  });
});

describe('CostLedgerRepository spend per budget scope', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set' }, () => {
  const tenant = `it-${randomUUID().slice(0, 8)}`;
  const db = ledgerOnPostgres(tenant);

  const e = (day: string, team: string, route: string, costUsd: number): LedgerEntry => ({
    usageEventId: randomUUID(),
    tenantId: tenant,
    jobId: null,
    team,
    feature: '',
    kind: 'COMPLETION',
    model: 'm',
    tier: 'S',
    route,
    day,
    promptTokens: 1,
    completionTokens: 1,
    gpuSeconds: 0,
    costUsd,
    priceCatalogVersion: 'it',
  });

  it('sums each event rounded to micro-USD once, per tenant, team and route, for a day and a month', async () => {
    // 1.4 micro-USD rounds to 1 per event: three events are 3 micro-USD, the amount the budget counters were charged
    // (rounding the exact sum, 4.2, would give 4 and drift from the counters).
    const recorded = [
      await db.repo.record(e('2026-11-05', 'search', 'faq', 0.0000014)),
      await db.repo.record(e('2026-11-05', 'search', 'faq', 0.0000014)),
      await db.repo.record(e('2026-11-05', 'ads', '', 0.0000014)),
      await db.repo.record(e('2026-11-06', '', 'faq', 0.25)),
      await db.repo.record(e('2026-12-01', 'search', 'faq', 9)),
    ];
    assert.deepEqual(
      recorded.map((r) => r.costMicroUsd),
      [1, 1, 1, 250_000, 9_000_000],
    );
    const sorted = (rows: { kind: string; name: string; microUsd: number }[]) => rows.map((r) => `${r.kind}:${r.name}=${r.microUsd}`).sort();
    assert.deepEqual(sorted(await db.repo.spendByScope(tenant, 'day', '2026-11-05')), ['route:faq=2', 'team:ads=1', 'team:search=2', 'tenant:=3']);
    assert.deepEqual(sorted(await db.repo.spendByScope(tenant, 'month', '2026-11')), ['route:faq=250002', 'team:ads=1', 'team:search=2', 'tenant:=250003']);
    assert.deepEqual(await db.repo.spendByScope(tenant, 'day', '2026-11-07'), []);
    assert.ok((await db.repo.tenantsWithSpendSince('2026-12-01')).includes(tenant));
  });
});

describe('BudgetStateRepository against Redis', { skip: REDIS_URL ? false : 'REDIS_URL is not set' }, () => {
  const tenant = `it-${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let repo: BudgetStateRepository;

  before(() => {
    redis = createRedis(REDIS_URL!);
    repo = new BudgetStateRepository(redis);
  });
  after(async () => {
    await redis.del(RedisKeys.budgetSpent(tenant, '2026-11'), budgetAlertKey(tenant, '2026-11', 'WARN_80'));
    redis.disconnect();
  });

  it('SETs the spend (replays overwrite) and marks an alert once', async () => {
    await repo.setSpent(tenant, '2026-11', 1234);
    await repo.setSpent(tenant, '2026-11', 1234);
    assert.equal(await redis.get(RedisKeys.budgetSpent(tenant, '2026-11')), '1234');
    assert.ok((await redis.ttl(RedisKeys.budgetSpent(tenant, '2026-11'))) > 0);
    assert.equal(await repo.alertSent(tenant, '2026-11', 'WARN_80'), false);
    assert.equal(await repo.markAlertSent(tenant, '2026-11', 'WARN_80'), true);
    assert.equal(await repo.markAlertSent(tenant, '2026-11', 'WARN_80'), false);
    assert.equal(await repo.alertSent(tenant, '2026-11', 'WARN_80'), true);
  });
});
