/** Nest injection tokens of the persistence lib's clients. */
export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');
/** Nest injection token of the BudgetLimitSource in force: EffectiveBudgetLimits (policy budgets, operator overrides winning). */
export const BUDGET_LIMITS = Symbol('BUDGET_LIMITS');
