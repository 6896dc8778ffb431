import type { BudgetAlertLevel } from '@llmgov/contracts';

/** Billing day (UTC) of an epoch-millisecond instant, `YYYY-MM-DD`. */
export function billingDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Billing month (UTC) of a billing day or instant, `YYYY-MM`. */
export function billingMonth(dayOrEpochMs: string | number): string {
  return (typeof dayOrEpochMs === 'number' ? billingDay(dayOrEpochMs) : dayOrEpochMs).slice(0, 7);
}

/** Alert thresholds in percent of the budget: WARN_80 at 80 %, EXCEEDED_100 at 100 %. */
export const ALERT_THRESHOLDS: readonly { level: BudgetAlertLevel; percent: number }[] = [
  { level: 'WARN_80', percent: 80 },
  { level: 'EXCEEDED_100', percent: 100 },
];

/**
 * Levels whose threshold the spend has reached, lowest first (a single large cost can cross both).
 * Compared in integer micro-USD (spent × 100 >= budget × percent) so a spend of exactly 80 % is never missed
 * by floating-point rounding. A budget of 0 USD is reached (both levels) by any spend above 0.
 * @param spentMicroUsd month-to-date spend in micro-USD (1e-6 USD)
 * @param budgetUsd budget in USD
 */
export function reachedLevels(spentMicroUsd: number, budgetUsd: number): BudgetAlertLevel[] {
  const budgetMicroUsd = Math.round(budgetUsd * 1e6);
  if (budgetMicroUsd <= 0) return spentMicroUsd > 0 ? ALERT_THRESHOLDS.map((t) => t.level) : [];
  return ALERT_THRESHOLDS.filter((t) => spentMicroUsd * 100 >= budgetMicroUsd * t.percent).map((t) => t.level);
}
