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

/** Driver types through the lib that owns the drivers (ADR 0004). */
type Redis = ConstructorParameters<typeof BudgetReservations>[0];
type PgPool = ConstructorParameters<typeof PolicyRepository>[0];

/** The cascade reads policy versions from Postgres, so only a judge with JUDGE_CASCADE=true connects to it. */
const cascadeEnabled = /^(true|1)$/.test(process.env.JUDGE_CASCADE ?? '');

export const SERVICE_NAME = 'judge';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: cascadeEnabled, redis: true }),
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
      provide: JUDGE_CASCADE,
      inject: [JUDGE_CONFIG, REDIS, BudgetReservations, PolicyBudgetLimits, { token: PG_POOL, optional: true }],
      useFactory: (c: ReturnType<typeof loadJudgeConfig>, redis: Redis, reservations: BudgetReservations, limits: PolicyBudgetLimits, pool?: PgPool) =>
        c.JUDGE_CASCADE && pool ? new PolicyCascade(new PolicyRepository(pool, c.POLICY_NAMESPACE), reservations, limits, redis, c.JUDGE_CASCADE_TTL_S) : null,
    },
    JudgeService,
    JudgeMetrics,
  ],
})
export class AppModule {}
