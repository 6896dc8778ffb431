/**
 * Guard: the cost ledger's hot queries (per-event insert and replay lookup, roll-up upsert, month-to-date sum, the budget
 * reconciler's spend per scope and tenant list)
 * use an index on populated tables; a sequential scan of `cost_ledger` or `cost_rollups` fails the test.
 * Needs the local stack (DATABASE_URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { explainingPool } from '@llmgov/testing';
import { CostLedgerRepository, type LedgerEntry } from '../src/repositories/cost-ledger.repository.js';

const DATABASE_URL = process.env.DATABASE_URL;
const ROWS = 20_000;
const BIG_TABLES = new Set(['cost_ledger', 'cost_rollups']);

describe('cost ledger hot queries use their indexes', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set', timeout: 120_000 }, () => {
  // Rows are spread over 50 tenants, as in a shared deployment; the repository works for one of them.
  const prefix = `explain-${randomUUID().slice(0, 8)}`;
  const tenant = `${prefix}-7`;
  let pool: Pool;

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 2 });
    // One ledger row per usage event and one roll-up row per (tenant, team, day), over 50 tenants, 8 teams and 50 days.
    await pool.query(
      `INSERT INTO cost_ledger (usage_event_id, tenant_id, job_id, team, feature, kind, model, tier, day, prompt_tokens, completion_tokens, gpu_seconds, cost_usd, price_catalog_version)
       SELECT $1 || '-e-' || i, $1 || '-' || (i % 50), gen_random_uuid()::text, 't' || (i % 8), '', 'COMPLETION', 'm', 'S', DATE '2026-01-01' + (i % 50), 10, 5, 0.1, 0.001, 'v1'
       FROM generate_series(1, $2::int) AS i`,
      [prefix, ROWS],
    );
    await pool.query(
      `INSERT INTO cost_rollups (tenant_id, day, team, feature, model, tier, requests, prompt_tokens, completion_tokens, cost_usd)
       SELECT $1 || '-' || (i % 50), DATE '2026-01-01' + (i / 50 % 50), 't' || (i / 2500), '', 'm', 'S', 1, 10, 5, 0.001 FROM generate_series(1, $2::int) AS i`,
      [prefix, ROWS],
    );
    await pool.query('ANALYZE cost_ledger');
    await pool.query('ANALYZE cost_rollups');
  });

  after(async () => {
    await pool.query("DELETE FROM cost_ledger WHERE tenant_id LIKE $1 || '-%'", [prefix]);
    await pool.query("DELETE FROM cost_rollups WHERE tenant_id LIKE $1 || '-%'", [prefix]);
    await pool.end();
  });

  it('record (new and replayed event), monthToDateMicroUsd, spendByScope and tenantsWithSpendSince', async () => {
    const { pool: p, plans } = explainingPool(pool);
    const repo = new CostLedgerRepository(p);
    const entry: LedgerEntry = {
      usageEventId: `${prefix}-new`,
      tenantId: tenant,
      jobId: randomUUID(),
      team: 't1',
      feature: '',
      kind: 'COMPLETION',
      model: 'm',
      tier: 'S',
      route: 'faq',
      day: '2026-02-10',
      promptTokens: 1,
      completionTokens: 1,
      gpuSeconds: 0.01,
      costUsd: 0.5,
      priceCatalogVersion: 'v1',
    };
    assert.equal((await repo.record(entry)).inserted, true);
    assert.equal((await repo.record(entry)).inserted, false);
    assert.ok((await repo.monthToDateMicroUsd(tenant, '2026-02')) >= 500_000);
    // The budget reconciler's queries.
    assert.ok((await repo.spendByScope(tenant, 'month', '2026-02')).some((s) => s.kind === 'route' && s.name === 'faq' && s.microUsd === 500_000));
    assert.ok((await repo.spendByScope(tenant, 'day', '2026-02-10')).some((s) => s.kind === 'tenant'));
    assert.ok((await repo.tenantsWithSpendSince('2026-02-19')).length > 0);
    assert.ok(plans.length >= 7, `expected the repository's statements to be planned, got ${plans.length}`);
    assert.deepEqual(
      plans.filter((q) => q.seqScans.some((t) => BIG_TABLES.has(t))).map((q) => q.sql),
      [],
    );
  });
});
