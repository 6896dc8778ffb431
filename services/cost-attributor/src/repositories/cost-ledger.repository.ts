import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, inTransaction, type Pool } from '@llmgov/persistence';

/**
 * One priced usage event as the ledger stores it. Attribution dimensions that are absent (team, feature, tier)
 * are stored as '' because they are part of the roll-up primary key (NULLs would never conflict).
 */
export interface LedgerEntry {
  usageEventId: string;
  tenantId: string;
  jobId: string | null;
  team: string;
  feature: string;
  /** UsageKind: COMPLETION, EMBEDDING or JUDGE. */
  kind: string;
  model: string;
  tier: string;
  /** Policy route (named use case) the call was reserved under; '' when none. */
  route: string;
  /** Billing day (UTC), YYYY-MM-DD. */
  day: string;
  promptTokens: number;
  completionTokens: number;
  gpuSeconds: number;
  /** USD, at most 10 decimal places. */
  costUsd: number;
  priceCatalogVersion: string;
}

/** What the ledger holds for a usage event after `record`. */
export interface LedgerRecord {
  /** True when this call inserted the row (and updated the roll-up); false for a redelivered event. */
  inserted: boolean;
  /** Cost stored for the event in USD (the first pricing wins; a replay never re-prices). */
  costUsd: number;
  /** The same cost rounded to whole micro-USD by Postgres (`cost_ledger.cost_micro_usd`): what budgets are charged. */
  costMicroUsd: number;
  priceCatalogVersion: string;
}

/** `cost_ledger` and `cost_rollups` (Postgres). Every query is parameterised. */
@Injectable()
export class CostLedgerRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Exactly-once accounting: in one transaction, inserts the ledger row keyed by usage_event_id
   * (ON CONFLICT DO NOTHING) and, only when that insert happened, adds the event to its roll-up row
   * (+1 request, +tokens, +cost, +cost in whole micro-USD). A redelivered event changes nothing and returns the stored cost.
   * @throws RetriableError (via classifyPgError) when Postgres is unavailable; the transaction is rolled back.
   */
  async record(e: LedgerEntry): Promise<LedgerRecord> {
    const cost = e.costUsd.toFixed(10);
    return inTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO cost_ledger (usage_event_id, tenant_id, job_id, team, feature, kind, model, tier, day,
           prompt_tokens, completion_tokens, gpu_seconds, cost_usd, price_catalog_version, route)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12, $13::numeric, $14, $15)
         ON CONFLICT (usage_event_id) DO NOTHING
         RETURNING cost_micro_usd::text AS micro`,
        [
          e.usageEventId,
          e.tenantId,
          e.jobId,
          e.team,
          e.feature,
          e.kind,
          e.model,
          e.tier,
          e.day,
          e.promptTokens,
          e.completionTokens,
          e.gpuSeconds,
          cost,
          e.priceCatalogVersion,
          e.route,
        ],
      );
      const micro = (inserted.rows as { micro: string }[])[0]?.micro;
      if (micro === undefined) {
        const existing = await client.query<{ cost_usd: string; micro: string; price_catalog_version: string }>(
          'SELECT cost_usd::text AS cost_usd, cost_micro_usd::text AS micro, price_catalog_version FROM cost_ledger WHERE usage_event_id = $1',
          [e.usageEventId],
        );
        const row = existing.rows[0];
        if (!row) throw new Error('ledger insert conflicted but no ledger row was found');
        return { inserted: false, costUsd: Number(row.cost_usd), costMicroUsd: Number(row.micro), priceCatalogVersion: row.price_catalog_version };
      }
      await client.query(
        `INSERT INTO cost_rollups (tenant_id, day, team, feature, model, tier, route, requests, prompt_tokens, completion_tokens, cost_usd, cost_micro_usd)
         VALUES ($1, $2::date, $3, $4, $5, $6, $7, 1, $8, $9, $10::numeric, $11::bigint)
         ON CONFLICT (tenant_id, day, team, feature, model, tier, route) DO UPDATE SET
           requests = cost_rollups.requests + 1,
           prompt_tokens = cost_rollups.prompt_tokens + EXCLUDED.prompt_tokens,
           completion_tokens = cost_rollups.completion_tokens + EXCLUDED.completion_tokens,
           cost_usd = cost_rollups.cost_usd + EXCLUDED.cost_usd,
           cost_micro_usd = cost_rollups.cost_micro_usd + EXCLUDED.cost_micro_usd`,
        [e.tenantId, e.day, e.team, e.feature, e.model, e.tier, e.route, e.promptTokens, e.completionTokens, cost, micro],
      );
      return { inserted: true, costUsd: Number(cost), costMicroUsd: Number(micro), priceCatalogVersion: e.priceCatalogVersion };
    });
  }

  /**
   * The tenant's spend in calendar month `month` (YYYY-MM, UTC) from the roll-ups, in micro-USD (1e-6 USD),
   * rounded to the nearest micro-USD by Postgres on the exact numeric sum.
   */
  async monthToDateMicroUsd(tenantId: string, month: string): Promise<number> {
    try {
      const r = await this.pool.query<{ micro: string }>(
        `SELECT COALESCE(round(sum(cost_usd) * 1000000), 0)::bigint::text AS micro
         FROM cost_rollups WHERE tenant_id = $1 AND day >= $2::date AND day < ($2::date + interval '1 month')`,
        [tenantId, `${month}-01`],
      );
      return Number(r.rows[0]?.micro ?? 0);
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /**
   * Spend of the tenant in one budget period per scope, in whole micro-USD (the sum of each event's `cost_micro_usd`,
   * exactly what the budget counters are charged): the tenant's total, and each team's and route's ('' = none, left out).
   * @param period `day` (periodId YYYY-MM-DD) or `month` (periodId YYYY-MM), UTC
   * @throws RetriableError (via classifyPgError) when Postgres is unavailable.
   */
  async spendByScope(tenantId: string, period: 'day' | 'month', periodId: string): Promise<ScopeSpend[]> {
    const from = period === 'day' ? periodId : `${periodId}-01`;
    const span = period === 'day' ? '1 day' : '1 month';
    try {
      const r = await this.pool.query<{ kind: 'tenant' | 'team' | 'route'; name: string; micro: string }>(
        `WITH p AS (
           SELECT team, route, cost_micro_usd FROM cost_rollups
           WHERE tenant_id = $1 AND day >= $2::date AND day < ($2::date + $3::interval)
         )
         SELECT 'tenant' AS kind, '' AS name, sum(cost_micro_usd)::text AS micro FROM p HAVING count(*) > 0
         UNION ALL SELECT 'team', team, sum(cost_micro_usd)::text FROM p WHERE team <> '' GROUP BY team
         UNION ALL SELECT 'route', route, sum(cost_micro_usd)::text FROM p WHERE route <> '' GROUP BY route`,
        [tenantId, from, span],
      );
      return r.rows.map((row) => ({ kind: row.kind, name: row.name, microUsd: Number(row.micro) }));
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** Tenants with roll-ups on or after `fromDay` (YYYY-MM-DD). @throws RetriableError when Postgres is unavailable. */
  async tenantsWithSpendSince(fromDay: string): Promise<string[]> {
    try {
      const r = await this.pool.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM cost_rollups WHERE day >= $1::date ORDER BY tenant_id', [fromDay]);
      return r.rows.map((row) => row.tenant_id);
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}

/** A scope's spend in a period, whole micro-USD; `name` is '' for the tenant scope. */
export interface ScopeSpend {
  kind: 'tenant' | 'team' | 'route';
  name: string;
  microUsd: number;
}
