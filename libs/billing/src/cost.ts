import { usdToMicroUsd } from './micro-usd.js';

/**
 * How a model is priced (the cost-attributor's price catalog entry, `services/cost-attributor/price-catalog/*.json`):
 * - `api`: USD per one million input and output tokens (the per-million-token convention of hosted model APIs);
 * - `self_hosted`: USD per GPU-hour of the pool that serves it, charged by the GPU-seconds a call used.
 */
export type ModelPrice = { kind: 'api'; input_per_1m_tokens: number; output_per_1m_tokens: number } | { kind: 'self_hosted'; usd_per_gpu_hour: number };

/** The metered quantities of one model call. */
export interface MeteredUsage {
  /** Input tokens (count). */
  prompt_tokens: number;
  /** Output tokens (count). */
  completion_tokens: number;
  /** GPU time in seconds. */
  gpu_seconds: number;
  /** Hourly price of the GPU that served the call (USD), from the inference pool config; overrides the price's own. */
  usd_per_gpu_hour?: number | null;
}

/**
 * Cost of one call in USD, unrounded:
 * - `api`: prompt_tokens / 1e6 × input_per_1m_tokens + completion_tokens / 1e6 × output_per_1m_tokens;
 * - `self_hosted`: gpu_seconds / 3600 × usd_per_gpu_hour (GPU time share × hourly GPU price); tokens are free. The
 *   hourly price is the usage's own (the serving endpoint's, from the pool config) when it carries one, else the price's.
 */
export function usageCostUsd(price: ModelPrice, u: MeteredUsage): number {
  switch (price.kind) {
    case 'api':
      return (u.prompt_tokens / 1e6) * price.input_per_1m_tokens + (u.completion_tokens / 1e6) * price.output_per_1m_tokens;
    case 'self_hosted':
      return (u.gpu_seconds / 3600) * (u.usd_per_gpu_hour != null && u.usd_per_gpu_hour >= 0 ? u.usd_per_gpu_hour : price.usd_per_gpu_hour);
    default: {
      const unknown: never = price;
      throw new Error(`unknown price kind ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * GPU-seconds attributed to one engine call: its end-to-end time divided by the endpoint's concurrent sequences
 * (a running sequence holds 1/max_num_seqs of the GPU for its end-to-end time). This is the estimate the inference
 * worker reports as `gpu_seconds` in usage events (services/inference-worker/src/services/inference.service.ts,
 * `publishCompletion`).
 * @param e2eMs end-to-end time of the call, ms
 * @param maxNumSeqs the engine's `--max-num-seqs` (vLLM) or `--parallel` slots (llama.cpp), count >= 1
 */
export function attributedGpuSeconds(e2eMs: number, maxNumSeqs: number): number {
  return e2eMs / 1000 / maxNumSeqs;
}

/** A request's size before dispatch. */
export interface WorstCaseRequest {
  /** Tokens of everything sent to the model: system prompt, retrieved context, template and prompt (count). */
  promptTokens: number;
  /** The request's `max_tokens`: the most completion tokens the engine may generate (count). */
  maxTokens: number;
}

/**
 * What bounds a self-hosted call's engine time. At least one bound is required; when both are given the smaller wins.
 * For a pool of several endpoints pass the endpoint with the highest `usd_per_gpu_hour / max_num_seqs`.
 */
export interface SelfHostedBounds {
  /** The serving endpoint's `max_num_seqs` (count >= 1), as in its pool config. */
  maxNumSeqs: number;
  /**
   * Longest the call can run, ms: the time left to the job's deadline. The LLM client aborts a call at
   * `deadline_at` (libs/llm-clients, ChatCompletionsClient `deadlineMs`), and only the call that answers is billed,
   * so no billed call runs longer.
   */
  maxCallMs?: number;
  /**
   * Per-sequence prefill and decode speeds (tokens/s) of the endpoint under full load: the slowest a sequence runs,
   * so promptTokens / prefill + maxTokens / decode bounds the call time. Both or neither.
   */
  prefillTokensPerS?: number;
  decodeTokensPerS?: number;
}

/** The worst-case cost of a request on a tier. */
export interface WorstCaseCost {
  /** USD, unrounded. */
  usd: number;
  /** The amount to reserve: `usd` rounded up to whole micro-USD. */
  microUsd: number;
  /** Self-hosted only: the GPU-seconds assumed; null for token-priced models. */
  gpuSeconds: number | null;
  /** What bounded it: token prices, the call-time bound (deadline), or the token rates. */
  basis: 'token_prices' | 'call_time_bound' | 'token_rates';
}

const nonNegativeInt = (name: string, v: number): void => {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
};
const positive = (name: string, v: number | undefined): void => {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
};

/**
 * The most a request can cost on a tier, to reserve before dispatch (issue 10 §3: "prompt tokens plus max_tokens, at
 * the tier's price, or the GPU-second estimate for self-hosted pools"):
 * - `api`: the call is billed {@link usageCostUsd} with prompt_tokens = promptTokens and completion_tokens at most
 *   maxTokens, so the worst case is that cost with completion_tokens = maxTokens.
 * - `self_hosted`: billed gpu_seconds = e2e / max_num_seqs ({@link attributedGpuSeconds}) at usd_per_gpu_hour, so the
 *   worst case takes the longest the call can run: min(maxCallMs, promptTokens / prefillTokensPerS + maxTokens /
 *   decodeTokensPerS) over the bounds given.
 * @throws RangeError for negative or fractional token counts, non-positive bounds, or a self-hosted price without a bound.
 */
export function worstCaseCost(price: ModelPrice, req: WorstCaseRequest, selfHosted?: SelfHostedBounds): WorstCaseCost {
  nonNegativeInt('promptTokens', req.promptTokens);
  nonNegativeInt('maxTokens', req.maxTokens);
  if (price.kind === 'api') {
    const usd = usageCostUsd(price, { prompt_tokens: req.promptTokens, completion_tokens: req.maxTokens, gpu_seconds: 0 });
    return { usd, microUsd: usdToMicroUsd(usd, 'up'), gpuSeconds: null, basis: 'token_prices' };
  }
  if (!selfHosted) throw new RangeError('a self-hosted price needs SelfHostedBounds (maxNumSeqs and a call-time bound)');
  if (!Number.isSafeInteger(selfHosted.maxNumSeqs) || selfHosted.maxNumSeqs < 1)
    throw new RangeError(`maxNumSeqs must be an integer >= 1, got ${selfHosted.maxNumSeqs}`);
  positive('maxCallMs', selfHosted.maxCallMs);
  positive('prefillTokensPerS', selfHosted.prefillTokensPerS);
  positive('decodeTokensPerS', selfHosted.decodeTokensPerS);
  if ((selfHosted.prefillTokensPerS === undefined) !== (selfHosted.decodeTokensPerS === undefined))
    throw new RangeError('prefillTokensPerS and decodeTokensPerS go together');
  const bounds: { ms: number; basis: WorstCaseCost['basis'] }[] = [];
  if (selfHosted.maxCallMs !== undefined) bounds.push({ ms: selfHosted.maxCallMs, basis: 'call_time_bound' });
  if (selfHosted.prefillTokensPerS !== undefined && selfHosted.decodeTokensPerS !== undefined)
    bounds.push({ ms: (req.promptTokens / selfHosted.prefillTokensPerS + req.maxTokens / selfHosted.decodeTokensPerS) * 1000, basis: 'token_rates' });
  const bound = bounds.sort((a, b) => a.ms - b.ms)[0];
  if (!bound) throw new RangeError('a self-hosted price needs maxCallMs or the token rates');
  const gpuSeconds = attributedGpuSeconds(bound.ms, selfHosted.maxNumSeqs);
  const usd = usageCostUsd(price, { prompt_tokens: req.promptTokens, completion_tokens: req.maxTokens, gpu_seconds: gpuSeconds });
  return { usd, microUsd: usdToMicroUsd(usd, 'up'), gpuSeconds, basis: bound.basis };
}
