/** Nest injection tokens of the persistence lib's clients. */
export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');
/** Nest injection token of the BudgetLimitSource in force: EffectiveBudgetLimits (policy budgets, operator overrides winning). */
export const BUDGET_LIMITS = Symbol('BUDGET_LIMITS');
/**
 * Injection token of the redrive checkpoint store (RedriveRepository), provided with Postgres. The same registered
 * symbol as @llmgov/kafka-runtime's REDRIVE_CHECKPOINTS, whose KafkaHandlerHost runs the automatic redrive with it
 * (an adapter may not import the runtime, ADR 0004, so the two meet by `Symbol.for` key).
 */
export const REDRIVE_CHECKPOINTS = Symbol.for('llmgov.redrive-checkpoints');
