import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { IndexVersionsRepository, PG_POOL, PersistenceModule, type Pool } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { EMBEDDER_CONFIG, loadEmbedderConfig, type EmbedderConfig } from './config.js';
import { DocumentsHandler } from './handlers/documents.handler.js';
import { EMBEDDINGS_CLIENT, EmbeddingService } from './services/embedding.service.js';

export const SERVICE_NAME = 'embedder';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    // Postgres: the tenants' index versions (issue 12 §2), which new documents are embedded into as well.
    PersistenceModule.forRoot({ postgres: true, redis: true }),
  ],
  controllers: [DocumentsHandler],
  providers: [
    { provide: EMBEDDER_CONFIG, useFactory: loadEmbedderConfig },
    {
      provide: EMBEDDINGS_CLIENT,
      inject: [EMBEDDER_CONFIG],
      useFactory: (c: EmbedderConfig) => embeddingsClientFromSettings(c),
    },
    { provide: IndexVersionsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IndexVersionsRepository(pool) },
    EmbeddingService,
  ],
})
export class AppModule {}
