import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { JUDGE_CONFIG, loadJudgeConfig } from './config.js';
import { CompletionsHandler } from './handlers/completions.handler.js';
import { JudgeService } from './services/judge.service.js';
import { JudgeMetrics } from './services/judge-metrics.js';
import { JudgeStateRepository } from './repositories/judge-state.repository.js';

export const SERVICE_NAME = 'judge';

@Module({
  imports: [ObservabilityModule.forRoot(SERVICE_NAME), KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }), PersistenceModule.forRoot({ postgres: false, redis: true })],
  providers: [
    { provide: JUDGE_CONFIG, useFactory: loadJudgeConfig },
    CompletionsHandler,
    JudgeService,
    JudgeMetrics,
    JudgeStateRepository,
  ],
})
export class AppModule {}
