import { usageCostUsd } from '@llmgov/billing';
import type { PriceCatalog } from './price-catalog.js';

/** The metered quantities of one usage event. */
export interface MeteredUsage {
  model: string;
  /** Input tokens (count). */
  prompt_tokens: number;
  /** Output tokens (count). */
  completion_tokens: number;
  /** GPU time in seconds. */
  gpu_seconds: number;
  /** Hourly price of the GPU that served the call (USD), from the inference pool config; overrides the catalog's. */
  usd_per_gpu_hour?: number | null;
}

export interface PricedUsage {
  /** Cost in USD, rounded to 1e-10 USD (the scale of `cost_ledger.cost_usd`, numeric(20,10)). */
  costUsd: number;
  /** The catalog entry used: the model name, or `default` for a model the catalog does not list. */
  priceKey: string;
  /** False when the model was priced with the catalog's `default`. */
  known: boolean;
  catalogVersion: string;
}

/** Rounds USD to the ledger's 10 decimal places. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;

/**
 * Cost of one usage event in USD:
 * - `api`: prompt_tokens / 1e6 × input_per_1m_tokens + completion_tokens / 1e6 × output_per_1m_tokens
 *   (the per-million-token pricing convention of hosted model APIs);
 * - `self_hosted`: gpu_seconds / 3600 × usd_per_gpu_hour (GPU time share × hourly GPU price); tokens are free. The
 *   hourly price is the usage event's own (the serving endpoint's, from the pool config) when it carries one, else
 *   the catalog's.
 * A model missing from the catalog is priced with `default` and reported as `known: false`. The formula is
 * `usageCostUsd` of @llmgov/billing, which the router's worst-case estimate (`worstCaseCost`) shares.
 */
export function priceUsage(catalog: PriceCatalog, usage: MeteredUsage): PricedUsage {
  const listed = Object.hasOwn(catalog.models, usage.model) ? catalog.models[usage.model] : undefined;
  const price = listed ?? catalog.default;
  return {
    costUsd: roundUsd(usageCostUsd(price, usage)),
    priceKey: listed ? usage.model : 'default',
    known: listed !== undefined,
    catalogVersion: catalog.version,
  };
}
