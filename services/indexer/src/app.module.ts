import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { INDEXER_CONFIG, loadIndexerConfig, type IndexerConfig } from './config.js';
import { ChunksHandler } from './handlers/chunks.handler.js';
import { IndexingService, VECTOR_STORE } from './services/indexing.service.js';

export const SERVICE_NAME = 'indexer';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    // Redis: the semantic cache's reverse index, to drop answers built from re-indexed or deleted chunks (ADR 0008).
    PersistenceModule.forRoot({ postgres: false, redis: true }),
  ],
  controllers: [ChunksHandler],
  providers: [
    { provide: INDEXER_CONFIG, useFactory: loadIndexerConfig },
    {
      provide: VECTOR_STORE,
      inject: [INDEXER_CONFIG],
      useFactory: (c: IndexerConfig) => vectorStoreFromSettings(c),
    },
    IndexingService,
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(VECTOR_STORE) private readonly store: VectorStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
