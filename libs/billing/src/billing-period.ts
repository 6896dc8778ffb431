/** A budget alert level: WARN_80 at 80 % of a budget, EXCEEDED_100 at 100 % (the contracts' `BudgetAlertLevel`). */
export type BudgetLevel = 'WARN_80' | 'EXCEEDED_100';

/** The two budget periods: a UTC calendar day and a UTC calendar month. */
export type BudgetPeriodKind = 'day' | 'month';
export const BUDGET_PERIOD_KINDS: readonly BudgetPeriodKind[] = ['day', 'month'];

/** Billing day (UTC) of an epoch-millisecond instant, `YYYY-MM-DD`. */
export function billingDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Billing month (UTC) of a billing day or instant, `YYYY-MM`. */
export function billingMonth(dayOrEpochMs: string | number): string {
  return (typeof dayOrEpochMs === 'number' ? billingDay(dayOrEpochMs) : dayOrEpochMs).slice(0, 7);
}

/** The period of kind `kind` that contains the instant: `YYYY-MM-DD` for a day, `YYYY-MM` for a month (UTC). */
export function billingPeriod(kind: BudgetPeriodKind, epochMs: number): string {
  return kind === 'day' ? billingDay(epochMs) : billingMonth(epochMs);
}

/** Alert thresholds in percent of the budget: WARN_80 at 80 %, EXCEEDED_100 at 100 %. */
export const ALERT_THRESHOLDS: readonly { level: BudgetLevel; percent: number }[] = [
  { level: 'WARN_80', percent: 80 },
  { level: 'EXCEEDED_100', percent: 100 },
];

/**
 * Levels whose threshold the spend has reached, lowest first (a single large cost can cross both).
 * Compared exactly in integers (spent × 10 000 >= limit × basis points, as BigInt) so a spend of exactly the threshold
 * is never missed by floating-point rounding. A limit of 0 is reached (both levels) by any spend above 0.
 * @param spentMicroUsd spend in the period, micro-USD (1e-6 USD)
 * @param limitMicroUsd budget of the period, micro-USD
 * @param warnAt fraction of the limit (0, 1] at which WARN_80 fires: the policy budget's `alert_at` (default 0.8, the
 *   level's name); rounded to basis points.
 */
export function reachedLevelsMicro(spentMicroUsd: number, limitMicroUsd: number, warnAt = 0.8): BudgetLevel[] {
  if (limitMicroUsd <= 0) return spentMicroUsd > 0 ? ALERT_THRESHOLDS.map((t) => t.level) : [];
  const warnBp = BigInt(Math.min(10_000, Math.max(1, Math.round(warnAt * 10_000))));
  const spent = BigInt(Math.round(spentMicroUsd)) * 10_000n;
  const limit = BigInt(Math.round(limitMicroUsd));
  return ALERT_THRESHOLDS.filter((t) => spent >= limit * (t.level === 'WARN_80' ? warnBp : BigInt(t.percent * 100))).map((t) => t.level);
}

/**
 * {@link reachedLevelsMicro} with the budget in USD (rounded to the nearest micro-USD first).
 * @param spentMicroUsd month-to-date spend in micro-USD (1e-6 USD)
 * @param budgetUsd budget in USD
 */
export function reachedLevels(spentMicroUsd: number, budgetUsd: number): BudgetLevel[] {
  return reachedLevelsMicro(spentMicroUsd, Math.round(budgetUsd * 1e6));
}

/** The highest level reached, or `OK` below `warnAt` (default 80 %): the `budget_alert` state `llmgov budgets show` prints. */
export function alertState(spentMicroUsd: number, limitMicroUsd: number, warnAt = 0.8): BudgetLevel | 'OK' {
  return reachedLevelsMicro(spentMicroUsd, limitMicroUsd, warnAt).at(-1) ?? 'OK';
}
