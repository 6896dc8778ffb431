import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { EMBEDDER_CONFIG, loadEmbedderConfig, type EmbedderConfig } from './config.js';
import { DocumentsHandler } from './handlers/documents.handler.js';
import { EMBEDDINGS_CLIENT, EmbeddingService } from './services/embedding.service.js';

export const SERVICE_NAME = 'embedder';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: false, redis: true }),
  ],
  controllers: [DocumentsHandler],
  providers: [
    { provide: EMBEDDER_CONFIG, useFactory: loadEmbedderConfig },
    {
      provide: EMBEDDINGS_CLIENT,
      inject: [EMBEDDER_CONFIG],
      useFactory: (c: EmbedderConfig) => embeddingsClientFromSettings(c),
    },
    EmbeddingService,
  ],
})
export class AppModule {}
