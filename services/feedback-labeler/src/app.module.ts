import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { LABELER_CONFIG, loadLabelerConfig } from './config.js';
import { LabelerHandlers } from './handlers/labeler.handlers.js';
import { LabelingService } from './services/labeling.service.js';
import { LabelerMetrics } from './services/labeler-metrics.js';
import { AgreementMetrics } from './services/agreement-metrics.js';
import { JudgedResultsRepository } from './repositories/judged-results.repository.js';
import { LabelsRepository } from './repositories/labels.repository.js';
import { CanaryController } from './canary/canary-controller.service.js';

export const SERVICE_NAME = 'feedback-labeler';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: true, redis: false }),
  ],
  controllers: [LabelerHandlers],
  providers: [
    { provide: LABELER_CONFIG, useFactory: loadLabelerConfig },
    LabelingService,
    LabelerMetrics,
    AgreementMetrics,
    JudgedResultsRepository,
    LabelsRepository,
    CanaryController,
  ],
})
export class AppModule {}
