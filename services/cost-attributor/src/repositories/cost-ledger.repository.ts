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
  priceCatalogVersion: string;
}

/** `cost_ledger` and `cost_rollups` (Postgres). Every query is parameterised. */
@Injectable()
export class CostLedgerRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Exactly-once accounting: in one transaction, inserts the ledger row keyed by usage_event_id
   * (ON CONFLICT DO NOTHING) and, only when that insert happened, adds the event to its roll-up row
   * (+1 request, +tokens, +cost). A redelivered event changes nothing and returns the stored cost.
   * @throws RetriableError (via classifyPgError) when Postgres is unavailable; the transaction is rolled back.
   */
  async record(e: LedgerEntry): Promise<LedgerRecord> {
    const cost = e.costUsd.toFixed(10);
    return inTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO cost_ledger (usage_event_id, tenant_id, job_id, team, feature, kind, model, tier, day,
           prompt_tokens, completion_tokens, gpu_seconds, cost_usd, price_catalog_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12, $13::numeric, $14)
         ON CONFLICT (usage_event_id) DO NOTHING
         RETURNING usage_event_id`,
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
        ],
      );
      if (inserted.rows.length === 0) {
        const existing = await client.query<{ cost_usd: string; price_catalog_version: string }>(
          'SELECT cost_usd::text AS cost_usd, price_catalog_version FROM cost_ledger WHERE usage_event_id = $1',
          [e.usageEventId],
        );
        const row = existing.rows[0];
        if (!row) throw new Error('ledger insert conflicted but no ledger row was found');
        return { inserted: false, costUsd: Number(row.cost_usd), priceCatalogVersion: row.price_catalog_version };
      }
      await client.query(
        `INSERT INTO cost_rollups (tenant_id, day, team, feature, model, tier, requests, prompt_tokens, completion_tokens, cost_usd)
         VALUES ($1, $2::date, $3, $4, $5, $6, 1, $7, $8, $9::numeric)
         ON CONFLICT (tenant_id, day, team, feature, model, tier) DO UPDATE SET
           requests = cost_rollups.requests + 1,
           prompt_tokens = cost_rollups.prompt_tokens + EXCLUDED.prompt_tokens,
           completion_tokens = cost_rollups.completion_tokens + EXCLUDED.completion_tokens,
           cost_usd = cost_rollups.cost_usd + EXCLUDED.cost_usd`,
        [e.tenantId, e.day, e.team, e.feature, e.model, e.tier, e.promptTokens, e.completionTokens, cost],
      );
      return { inserted: true, costUsd: Number(cost), priceCatalogVersion: e.priceCatalogVersion };
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
}
