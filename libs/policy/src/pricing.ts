import type { TierPrice } from './schema.js';

/**
 * Projected cost of one call at a tier's price, USD.
 * - `api`: prompt_tokens / 1e6 × usd_per_1m_prompt_tokens + completion_tokens / 1e6 × usd_per_1m_completion_tokens;
 * - `self_hosted`: estimated GPU-seconds / 3600 × usd_per_gpu_hour, with GPU-seconds = prompt_tokens /
 *   prompt_tokens_per_gpu_s + completion_tokens / completion_tokens_per_gpu_s (the cost-attributor bills the measured
 *   GPU-seconds at the same hourly price).
 * With `completion_tokens` = the request's `max_tokens` this is the worst case that a budget reservation holds.
 * @throws RangeError when a token count is negative or not finite, or a self-hosted price has no throughputs to estimate from.
 */
export function projectedCostUsd(price: TierPrice, tokens: { prompt_tokens: number; completion_tokens: number }): number {
  const { prompt_tokens: p, completion_tokens: c } = tokens;
  if (!Number.isFinite(p) || !Number.isFinite(c) || p < 0 || c < 0) throw new RangeError(`token counts must be finite and >= 0 (got ${p}, ${c})`);
  switch (price.kind) {
    case 'api':
      return (p / 1e6) * price.usd_per_1m_prompt_tokens + (c / 1e6) * price.usd_per_1m_completion_tokens;
    case 'self_hosted':
      if (price.prompt_tokens_per_gpu_s === undefined || price.completion_tokens_per_gpu_s === undefined)
        throw new RangeError('this self-hosted price declares no prompt_tokens_per_gpu_s and completion_tokens_per_gpu_s to estimate GPU-seconds from');
      return ((p / price.prompt_tokens_per_gpu_s + c / price.completion_tokens_per_gpu_s) / 3600) * price.usd_per_gpu_hour;
  }
}
