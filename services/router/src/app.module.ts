import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { createEmbeddingsClient } from '@llmgov/embeddings';
import { createVectorStore, type VectorStore } from '@llmgov/vector-store';
import { ROUTER_CONFIG, loadRouterConfig, type RouterConfig } from './config.js';
import { RequestsHandler } from './handlers/requests.handler.js';
import { EMBEDDINGS_CLIENT, RoutingService, VECTOR_STORE } from './services/routing.service.js';

export const SERVICE_NAME = 'router';

@Module({
  imports: [ObservabilityModule.forRoot(SERVICE_NAME), KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }), PersistenceModule],
  providers: [
    { provide: ROUTER_CONFIG, useFactory: loadRouterConfig },
    {
      provide: VECTOR_STORE,
      inject: [ROUTER_CONFIG],
      useFactory: (c: RouterConfig) =>
        c.VECTOR_STORE === 'qdrant' ? createVectorStore({ kind: 'qdrant', url: c.QDRANT_URL ?? '' }) : createVectorStore({ kind: 'lancedb', dir: c.VECTOR_STORE_DIR }),
    },
    {
      provide: EMBEDDINGS_CLIENT,
      inject: [ROUTER_CONFIG],
      useFactory: (c: RouterConfig) =>
        createEmbeddingsClient({
          kind: c.EMBEDDINGS,
          dimensions: c.EMBEDDING_DIMENSIONS,
          ...(c.EMBEDDINGS_URL ? { baseUrl: c.EMBEDDINGS_URL } : {}),
          ...(c.EMBEDDINGS_MODEL ? { model: c.EMBEDDINGS_MODEL } : {}),
        }),
    },
    RequestsHandler,
    RoutingService,
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(VECTOR_STORE) private readonly store: VectorStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
