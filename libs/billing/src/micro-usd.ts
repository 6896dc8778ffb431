/** Micro-USD (1e-6 USD) per USD: budgets, reservations and spend counters are whole micro-USD. */
export const MICRO_USD_PER_USD = 1_000_000;

/**
 * Largest amount (micro-USD) a budget counter or limit may hold: 2^53 / 4, so the sum of spent, reserved and a new
 * reservation stays an exact integer in a double (JavaScript and Redis Lua numbers). About 2.25 billion USD.
 */
export const MAX_MICRO_USD = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/**
 * USD to whole micro-USD.
 * - `nearest` (default): rounded half up, e.g. for a limit of 0.29 USD → 290 000.
 * - `up`: the next whole micro-USD at or above the amount, for reservations, which must never be smaller than the
 *   cost they cover. Floating-point noise below 1e-6 micro-USD is ignored (0.29 × 1e6 = 290000.00000000006 → 290 000).
 * @throws RangeError for a negative, non-finite, or too large (> {@link MAX_MICRO_USD}) amount.
 */
export function usdToMicroUsd(usd: number, rounding: 'nearest' | 'up' = 'nearest'): number {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`a USD amount must be a finite number >= 0, got ${usd}`);
  const scaled = usd * MICRO_USD_PER_USD;
  const nearest = Math.round(scaled);
  const micro = rounding === 'nearest' || Math.abs(scaled - nearest) < 1e-6 ? nearest : Math.ceil(scaled);
  if (micro > MAX_MICRO_USD) throw new RangeError(`${usd} USD is above the largest budget amount (${MAX_MICRO_USD / MICRO_USD_PER_USD} USD)`);
  return micro;
}

/** Whole micro-USD to USD. */
export const microUsdToUsd = (microUsd: number): number => microUsd / MICRO_USD_PER_USD;

/** True for a whole micro-USD amount a counter can hold: a safe integer in [0, MAX_MICRO_USD]. */
export const isMicroUsd = (v: number): boolean => Number.isSafeInteger(v) && v >= 0 && v <= MAX_MICRO_USD;
