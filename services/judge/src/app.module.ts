import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { JUDGE_CONFIG, JUDGE_EMBEDDINGS, JUDGE_LLM, loadJudgeConfig } from './config.js';
import { LlmJudgeClient, loadJudgePool } from './services/llm-judge.client.js';
import { CompletionsHandler } from './handlers/completions.handler.js';
import { JudgeService } from './services/judge.service.js';
import { JudgeMetrics } from './services/judge-metrics.js';

export const SERVICE_NAME = 'judge';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: false, redis: true }),
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
    JudgeService,
    JudgeMetrics,
  ],
})
export class AppModule {}
