import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { BudgetReservations, PG_POOL, PersistenceModule, PolicyBudgetLimits, PolicyRepository, REDIS } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { JUDGE_CONFIG, JUDGE_EMBEDDINGS, JUDGE_LLM, loadJudgeConfig } from './config.js';
import { LlmJudgeClient, loadJudgePool } from './services/llm-judge.client.js';
import { CompletionsHandler } from './handlers/completions.handler.js';
import { JudgeService } from './services/judge.service.js';
import { JudgeMetrics } from './services/judge-metrics.js';
import { JUDGE_CASCADE } from './services/cascade.js';
import { PolicyCascade } from './services/policy-cascade.js';
import { JUDGE_POLICY, PolicyVersions } from './services/policy-versions.js';
import { BudgetJudgeSpend, JUDGE_SPEND } from './services/judge-spend.js';
import { LOGGER, type Logger } from '@llmgov/observability';

/** Driver types through the lib that owns the drivers (ADR 0004). */
type Redis = ConstructorParameters<typeof BudgetReservations>[0];
type PgPool = ConstructorParameters<typeof PolicyRepository>[0];

/**
 * The policy versions (LLM sampling, cascade) are read from Postgres, so a judge with POLICY_ENABLED=false does not
 * connect to it (the module's imports are fixed before the config is loaded, hence the raw variable).
 */
const policyEnabled = !/^(false|0)$/.test(process.env.POLICY_ENABLED ?? '');

export const SERVICE_NAME = 'judge';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: policyEnabled, redis: true }),
  ],
  controllers: [CompletionsHandler],
  providers: [
    { provide: JUDGE_CONFIG, useFactory: loadJudgeConfig },
    {
      // Semantic support only on a real embedding model: the hashing embedder's vectors are lexical, already covered.
      provide: JUDGE_EMBEDDINGS,
      inject: [JUDGE_CONFIG],
      useFactory: (c: ReturnType<typeof loadJudgeConfig>) => (c.EMBEDDINGS === 'openai' ? embeddingsClientFromSettings(c) : null),
    },
    {
      provide: JUDGE_LLM,
      inject: [JUDGE_CONFIG],
      useFactory: (c: ReturnType<typeof loadJudgeConfig>) => {
        const pool = c.POOLS_FILE ? loadJudgePool(c.POOLS_FILE) : null;
        return pool ? new LlmJudgeClient(pool) : null;
      },
    },
    {
      provide: JUDGE_POLICY,
      inject: [JUDGE_CONFIG, LOGGER, { token: PG_POOL, optional: true }],
      useFactory: (c: ReturnType<typeof loadJudgeConfig>, logger: Logger, pool?: PgPool) =>
        c.POLICY_ENABLED && pool
          ? new PolicyVersions(new PolicyRepository(pool, c.POLICY_NAMESPACE), (version, message) =>
              logger.warn({ policy_version: version, namespace: c.POLICY_NAMESPACE, message }, 'policy version not found: environment sampling, no cascade'),
            )
          : null,
    },
    {
      // On unless JUDGE_CASCADE=false: whether a job cascades is its SLO class's `escalation` block (README "The cascade").
      provide: JUDGE_CASCADE,
      inject: [JUDGE_CONFIG, JUDGE_POLICY, REDIS, BudgetReservations, PolicyBudgetLimits],
      useFactory: (
        c: ReturnType<typeof loadJudgeConfig>,
        policies: PolicyVersions | null,
        redis: Redis,
        reservations: BudgetReservations,
        limits: PolicyBudgetLimits,
      ) => (c.JUDGE_CASCADE !== false && policies ? new PolicyCascade(policies, reservations, limits, redis, c.JUDGE_CASCADE_TTL_S) : null),
    },
    {
      provide: JUDGE_SPEND,
      inject: [JUDGE_POLICY, BudgetReservations, PolicyBudgetLimits],
      useFactory: (policies: PolicyVersions | null, reservations: BudgetReservations, limits: PolicyBudgetLimits) =>
        new BudgetJudgeSpend(reservations, limits, policies),
    },
    JudgeService,
    JudgeMetrics,
  ],
})
export class AppModule {}
