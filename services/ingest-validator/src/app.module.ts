import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { INGEST_CONFIG, loadIngestConfig } from './config.js';
import { ApiController } from './http/api.controller.js';
import { ApiKeyGuard } from './http/api-key.guard.js';
import { IntakeHandlers } from './handlers/intake.handlers.js';
import { DeadLettersHandler } from './handlers/dead-letters.handler.js';
import { JobDeadLettersService } from './services/job-dead-letters.service.js';
import { JobExpiryService } from './services/job-expiry.service.js';
import { ValidationService } from './services/validation.service.js';
import { DocumentIntakeService } from './services/document-intake.service.js';
import { JobsService } from './services/jobs.service.js';
import { JobsRepository } from './repositories/jobs.repository.js';
import { DocumentsRepository } from './repositories/documents.repository.js';

export const SERVICE_NAME = 'ingest-validator';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: true, redis: true }),
  ],
  controllers: [IntakeHandlers, DeadLettersHandler, ApiController],
  providers: [
    { provide: INGEST_CONFIG, useFactory: loadIngestConfig },
    ApiKeyGuard,
    JobDeadLettersService,
    JobExpiryService,
    ValidationService,
    DocumentIntakeService,
    JobsService,
    JobsRepository,
    DocumentsRepository,
  ],
})
export class AppModule {}
