import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { JUDGE_CONFIG, JUDGE_EMBEDDINGS, loadJudgeConfig } from './config.js';
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
    JudgeService,
    JudgeMetrics,
  ],
})
export class AppModule {}
