import { usageCostUsd, usdToMicroUsd, worstCaseCost, type ModelPrice } from '@llmgov/billing';

/**
 * The price catalog as the cost-attributor reads it (`services/cost-attributor/price-catalog/v*.json`): a version, a
 * price per model, and the conservative `default` API price for any model it does not list.
 */
export interface ReplayPriceCatalog {
  version: string;
  models: Record<string, ModelPrice>;
  default: ModelPrice;
}

/** How the estimate of one record was made. */
export type CostBasis = 'request_worst_case' | 'usage_as_billed' | 'no_model_call';

/** The estimated cost of re-running one record. */
export interface RecordCostEstimate {
  /** Micro-USD, rounded up per record (as a reservation is). */
  microUsd: number;
  basis: CostBasis;
  /** The catalog entry used: the record's model, or `default`. */
  priceOf: string | null;
}

/** Counts the tokens of a text (the project's tokenizer, cl100k_base via libs/embeddings' countTokens). */
export type TokenCounter = (text: string) => number;

const str = (x: unknown): string => (typeof x === 'string' ? x : '');

/**
 * The most re-running one record can cost, from the price catalog:
 * - an inference request (a value with `prompt`; submitted, validated and routed topics): the worst case of the
 *   reservation the router makes (ADR 0007, `worstCaseCost`), prompt tokens = tokens of system prompt + prompt + any
 *   retrieved context text, counted with `countTokens`, plus `max_tokens` completion tokens, at the record's model's
 *   price when the catalog prices it per token, else at the catalog's `default` API price (a self-hosted price needs
 *   GPU time, which is only known after the call; the default is the catalog's deliberately conservative price);
 * - a usage record (`kind` and `prompt_tokens`): its cost as the cost-attributor bills it (`usageCostUsd`, the
 *   record's own tokens and GPU seconds at its model's price);
 * - anything else makes no model call: 0.
 * Retrieval adds context the router chooses at decision time; the estimate counts what the record already holds.
 */
export function estimateRecordCost(value: unknown, catalog: ReplayPriceCatalog, countTokens: TokenCounter): RecordCostEstimate {
  const v = (value ?? {}) as Record<string, unknown>;
  const model = typeof v.model === 'string' ? v.model : undefined;
  const listed = model !== undefined ? catalog.models[model] : undefined;
  if (typeof v.prompt === 'string') {
    const options = (v.options ?? {}) as Record<string, unknown>;
    const maxTokens = Number(v.max_tokens ?? options.max_tokens ?? 0);
    const context = Array.isArray(v.context) ? (v.context as Record<string, unknown>[]).map((c) => str(c.text)).join('\n') : '';
    const promptTokens = countTokens([str(v.system_prompt), v.prompt, context].filter((s) => s !== '').join('\n'));
    const price = listed?.kind === 'api' ? listed : catalog.default;
    const w = worstCaseCost(price, { promptTokens, maxTokens: Number.isSafeInteger(maxTokens) && maxTokens > 0 ? maxTokens : 0 });
    return { microUsd: w.microUsd, basis: 'request_worst_case', priceOf: listed?.kind === 'api' ? model! : 'default' };
  }
  if (typeof v.kind === 'string' && typeof v.prompt_tokens === 'number') {
    const price = listed ?? catalog.default;
    const usd = usageCostUsd(price, {
      prompt_tokens: v.prompt_tokens,
      completion_tokens: Number(v.completion_tokens ?? 0),
      gpu_seconds: Number(v.gpu_seconds ?? 0),
      usd_per_gpu_hour: typeof v.usd_per_gpu_hour === 'number' ? v.usd_per_gpu_hour : null,
    });
    return { microUsd: usdToMicroUsd(usd, 'up'), basis: 'usage_as_billed', priceOf: listed ? model! : 'default' };
  }
  return { microUsd: 0, basis: 'no_model_call', priceOf: null };
}
