import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule, REDIS, TierCapacityStore, type Redis } from '@llmgov/persistence';
import { WORKER_CONFIG, loadWorkerConfig, type WorkerConfig } from './config.js';
import { RoutedHandler } from './handlers/routed.handler.js';
import { InferenceService } from './services/inference.service.js';
import { JobLeases } from './adapters/job-lease.js';
import { ChatCompletionsClient } from '@llmgov/llm-clients';
import { PoolRegistry } from './services/pool-registry.js';
import { FlowController, SCRAPE_FN } from './services/flow-controller.js';
import { WorkerMetrics } from './services/worker-metrics.js';
import { PoolsFileWatcher } from './adapters/pools-file-watcher.js';
import { scrapeEngineLoad } from './adapters/engine-metrics-scraper.js';
import { ServiceRateTracker } from './services/service-rate.js';
import { CapacityPublisher } from './services/capacity-publisher.js';

export const SERVICE_NAME = 'inference-worker';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: false, redis: true }),
  ],
  controllers: [RoutedHandler],
  providers: [
    { provide: WORKER_CONFIG, useFactory: loadWorkerConfig },
    { provide: SCRAPE_FN, useValue: scrapeEngineLoad },
    WorkerMetrics,
    PoolRegistry,
    PoolsFileWatcher,
    FlowController,
    ServiceRateTracker,
    // The capacity gate's signals in Redis, in this worker's Kafka namespace (KAFKA_TOPIC_PREFIX).
    { provide: TierCapacityStore, inject: [REDIS, WORKER_CONFIG], useFactory: (r: Redis, c: WorkerConfig) => new TierCapacityStore(r, c.KAFKA_TOPIC_PREFIX) },
    CapacityPublisher,
    InferenceService,
    JobLeases,
    // The engines' HTTP API (OpenAI-compatible, streaming): the adapter every call goes through.
    { provide: ChatCompletionsClient, useFactory: () => new ChatCompletionsClient() },
  ],
})
export class AppModule {}
