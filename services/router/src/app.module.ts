import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule, REDIS, TierCapacityStore, type Redis } from '@llmgov/persistence';
import { embeddingsClientFromSettings } from '@llmgov/embeddings';
import { vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { ROUTER_CONFIG, loadRouterConfig, type RouterConfig } from './config.js';
import { RequestsHandler } from './handlers/requests.handler.js';
import { RoutingService } from './services/routing.service.js';
import { ActivePolicySource } from './adapters/active-policy.js';
import { PinnedPolicySource } from './adapters/pinned-policy.js';
import { CapacitySignalSource } from './adapters/capacity-signals.js';
import { TenantIndexVersions } from './adapters/index-versions.js';
import { RouterDriftMetrics } from './services/drift-metrics.js';
import { EMBEDDINGS_CLIENT, VECTOR_STORE } from './tokens.js';

export const SERVICE_NAME = 'router';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: false, redis: true }),
  ],
  controllers: [RequestsHandler],
  providers: [
    { provide: ROUTER_CONFIG, useFactory: loadRouterConfig },
    {
      provide: VECTOR_STORE,
      inject: [ROUTER_CONFIG],
      useFactory: (c: RouterConfig) => vectorStoreFromSettings(c),
    },
    {
      provide: EMBEDDINGS_CLIENT,
      inject: [ROUTER_CONFIG],
      useFactory: (c: RouterConfig) => embeddingsClientFromSettings(c),
    },
    ActivePolicySource,
    PinnedPolicySource,
    // The inference workers' capacity reports, in this router's Kafka namespace (KAFKA_TOPIC_PREFIX).
    { provide: TierCapacityStore, inject: [REDIS, ROUTER_CONFIG], useFactory: (r: Redis, c: RouterConfig) => new TierCapacityStore(r, c.KAFKA_TOPIC_PREFIX) },
    CapacitySignalSource,
    RouterDriftMetrics,
    TenantIndexVersions,
    RoutingService,
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(VECTOR_STORE) private readonly store: VectorStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
