import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { boolFromEnv, intFromEnv, loadPlatformConfig } from '@llmgov/config';

const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The catalog shipped with the service: `<package>/price-catalog/v1.json` (this file compiles to `<package>/dist/src/config.js`). */
export const DEFAULT_CATALOG_PATH = fileURLToPath(new URL('../../price-catalog/v2.json', import.meta.url));

/** Parses `tenant=amount[,tenant=amount...]` (amount in USD per calendar month, >= 0) into a map; every bad entry is reported. */
export const tenantBudgets = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const budgets = new Map<string, number>();
    for (const entry of s
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [tenant, amount, ...rest] = entry.split('=').map((p) => p.trim());
      const usd = Number(amount);
      if (!tenant || !TENANT_RE.test(tenant) || amount === undefined || amount === '' || rest.length > 0 || !Number.isFinite(usd) || usd < 0) {
        ctx.addIssue({ code: 'custom', message: `entry "${entry.slice(0, 80)}" must be tenant=amount with a tenant id and a non-negative USD amount` });
        continue;
      }
      budgets.set(tenant, usd);
    }
    return budgets;
  });

/**
 * cost-attributor settings.
 * - `CATALOG_PATH`: price catalog JSON file (default: the shipped `price-catalog/v2.json`).
 * - `TENANT_BUDGETS_USD`: monthly budgets, `tenant=amount[,tenant=amount...]` in USD per calendar month (UTC); tenants
 *   not listed have no budget and get no alerts. Default: none. (The legacy month-to-date check; the reservation path's
 *   limits are set with `llmgov budgets set`, ADR 0007.)
 * - `BUDGET_RECONCILE_INTERVAL_MS`: how often the budget reconciler compares the Redis counters with the ledger and
 *   repairs drift (ms, default 60 000; 0 turns it off).
 * - `BUDGET_COMPLETED_GRACE_MS`: when a job completes, its held reservations keep at most this much lease (ms, default
 *   60 000): its bill settles them; a completion that never bills (a cached answer) gives the money back after it.
 * - `POLICY_ENABLED` (default true) and `POLICY_NAMESPACE` (default `default`): follow the active policy version of
 *   that namespace, as the router does, so that alerts use its budgets (limits and `alert_at`; operators' overrides
 *   from `llmgov budgets set` win). Off: only the overrides are limits.
 */
export const costEnv = {
  CATALOG_PATH: z.string().min(1).default(DEFAULT_CATALOG_PATH),
  TENANT_BUDGETS_USD: tenantBudgets,
  BUDGET_RECONCILE_INTERVAL_MS: intFromEnv(0, 86_400_000).default(60_000),
  BUDGET_COMPLETED_GRACE_MS: intFromEnv(1, 86_400_000).default(60_000),
  POLICY_ENABLED: boolFromEnv.default(true),
  POLICY_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .default('default'),
};

export const COST_CONFIG = Symbol('COST_CONFIG');
export const PRICE_CATALOG = Symbol('PRICE_CATALOG');
export const loadCostConfig = () => loadPlatformConfig(costEnv);
/** The fields the cost attributor reads; tests may pass just these. */
export type CostConfig = Pick<ReturnType<typeof loadCostConfig>, 'CATALOG_PATH' | 'TENANT_BUDGETS_USD'> &
  Partial<Pick<ReturnType<typeof loadCostConfig>, 'BUDGET_RECONCILE_INTERVAL_MS' | 'BUDGET_COMPLETED_GRACE_MS' | 'POLICY_ENABLED' | 'POLICY_NAMESPACE'>>;
