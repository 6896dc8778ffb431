import { Inject, Injectable, Module, Optional, type BeforeApplicationShutdown, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { PLATFORM_CONFIG, loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { LOGGER, PlatformMetrics, ReadinessRegistry, type Logger } from '@llmgov/observability';
import { createKafka } from './kafka-client.js';
import { AvroSerde } from './serde.js';
import { EventPublisher } from './publisher.js';
import { DeadLetterPublisher } from './dead-letter.js';
import { KafkaConsumerRunner, type RecordHandler } from './consumer-runner.js';
import { TopicNamespace } from './topic-prefix.js';
import { DeadLetterRedriver, DependencyRedrive, type RedriveCheckpointStore } from './dead-letters.js';

/** Injection tokens (PLATFORM_CONFIG, provided here, is defined in @llmgov/config). */
export const KAFKA = Symbol('KAFKA');
export const KAFKA_PRODUCER = Symbol('KAFKA_PRODUCER');
/**
 * Injection token of the redrive checkpoint store (a RedriveCheckpointStore). @llmgov/persistence's PersistenceModule
 * provides it (RedriveRepository) for services with Postgres, under the same registered symbol: the runtime may not
 * import an adapter (ADR 0004), so the two meet by `Symbol.for` key. Without it, no automatic redrive runs.
 */
export const REDRIVE_CHECKPOINTS = Symbol.for('llmgov.redrive-checkpoints');

/** One record handler as the Kafka transport found it: a Nest `@EventPattern` on a controller (see KafkaEventPattern). */
export interface DiscoveredHandler {
  topic: string;
  /** Consumer group suffix: handlers with the same suffix share one consumer, in group `<base>.<suffix>`. */
  group: string | undefined;
  /** The handler receives the raw value bytes instead of the decoded Avro value. */
  raw: boolean;
  /** The handler receives `null` for a tombstone (null-value record) instead of it being dead-lettered. */
  tombstones?: boolean;
  handler: RecordHandler;
}

/** Per-group consumer settings a service may set before the application bootstraps (see KafkaHandlerHost.configureGroup). */
export interface ConsumerGroupSettings {
  /** Records in flight at once in this consumer (default `KAFKA_HANDLER_CONCURRENCY`). */
  maxInFlight?: number;
  /** False: this instance does not consume the group's topics (e.g. a worker dedicated to other tiers). Default true. */
  enabled?: boolean;
}

export interface KafkaRuntimeOptions {
  /** Service name: Kafka client id, consumer group id and the `dlq.service` header. */
  serviceName: string;
  /** Defaults to the service name. */
  groupId?: string;
}

/**
 * Runs the consumers of a service's Kafka handlers (handed over by KafkaRuntimeTransport when Nest starts the
 * microservice), one per handler group, and drains them at shutdown. Owns the producer's lifecycle and readiness.
 */
@Injectable()
export class KafkaHandlerHost implements OnModuleInit, BeforeApplicationShutdown {
  private readonly runners = new Map<string, KafkaConsumerRunner>();
  private readonly groupSettings = new Map<string, ConsumerGroupSettings>();
  private producerConnected = false;
  /** An admin client for lag queries, connected on first use (see consumerLag). */
  private admin: Promise<Admin> | undefined;

  constructor(
    @Inject('KAFKA_RUNTIME_OPTIONS') private readonly options: KafkaRuntimeOptions,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly serde: AvroSerde,
    private readonly metrics: PlatformMetrics,
    private readonly readiness: ReadinessRegistry,
    @Optional() @Inject(REDRIVE_CHECKPOINTS) private readonly checkpoints?: RedriveCheckpointStore,
  ) {}

  /** The automatic redrive of this service's `dependency` dead letters (see DependencyRedrive), when enabled. */
  private autoRedrive: DependencyRedrive | undefined;

  async onModuleInit(): Promise<void> {
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
    await this.producer.connect();
    const registryUrl = this.config.SCHEMA_REGISTRY_URL;
    this.readiness.register({
      name: 'kafka-producer',
      check: async () => {
        if (!this.producerConnected) throw new Error('producer is not connected');
      },
    });
    this.readiness.register({
      name: 'schema-registry',
      check: async () => {
        const res = await fetch(new URL('subjects', registryUrl.endsWith('/') ? registryUrl : `${registryUrl}/`));
        if (!res.ok) throw new Error(`schema registry answered ${res.status}`);
      },
    });
  }

  /** Sets a group's consumer settings; call before the consumers start (e.g. in onModuleInit). */
  configureGroup(group: string | undefined, settings: ConsumerGroupSettings): void {
    this.groupSettings.set(group ?? '', settings);
  }

  /**
   * Starts one consumer per handler group and resolves once each joined its group.
   * @throws Error when a topic has two handlers (a boot-time mistake, as Immich's job discovery treats it).
   */
  async start(handlers: DiscoveredHandler[]): Promise<void> {
    const byGroup = new Map<string, Map<string, RecordHandler>>();
    const rawTopics = new Set<string>();
    const tombstoneTopics = new Set<string>();
    for (const h of handlers) {
      const group = h.group ?? '';
      if (!byGroup.has(group)) byGroup.set(group, new Map());
      byGroup.get(group)!.set(h.topic, h.handler);
      if (h.raw) rawTopics.add(h.topic);
      if (h.tombstones === true) tombstoneTopics.add(h.topic);
    }
    // KAFKA_TOPIC_PREFIX namespaces topics and consumer groups alike (benchmarks and probes; see TopicNamespace).
    const namespace = new TopicNamespace(this.config.KAFKA_TOPIC_PREFIX);
    const base = namespace.wire(this.config.KAFKA_GROUP_ID ?? this.options.groupId ?? this.options.serviceName);
    const deadLetters = new DeadLetterPublisher(this.producer, this.options.serviceName, namespace);
    for (const [group, handlers] of byGroup) {
      if (this.groupSettings.get(group)?.enabled === false) {
        this.logger.info({ group, topics: [...handlers.keys()] }, 'handler group disabled in this instance');
        continue;
      }
      const runner = new KafkaConsumerRunner({
        kafka: this.kafka,
        groupId: group === '' ? base : `${base}.${group}`,
        serviceName: this.options.serviceName,
        handlers,
        serde: this.serde,
        deadLetters,
        metrics: this.metrics,
        logger: this.logger,
        retry: {
          initialMs: this.config.KAFKA_RETRY_INITIAL_MS,
          maxMs: this.config.KAFKA_RETRY_MAX_MS,
          maxAttempts: this.config.KAFKA_HANDLER_MAX_ATTEMPTS,
        },
        maxInFlight: this.groupSettings.get(group)?.maxInFlight ?? this.config.KAFKA_HANDLER_CONCURRENCY,
        partitionsConsumedConcurrently: this.config.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY,
        fromBeginning: this.config.KAFKA_FROM_BEGINNING,
        sessionTimeoutMs: this.config.KAFKA_SESSION_TIMEOUT_MS,
        dependencyProbe: () => this.readiness.failingDependencies(),
        rawTopics,
        tombstoneTopics,
        namespace,
      });
      this.runners.set(group, runner);
      this.readiness.register({
        name: `kafka-consumer:${runner.groupId}`,
        check: async () => {
          if (!runner.ready) throw new Error(`consumer of group ${runner.groupId} has not joined`);
        },
      });
    }
    await Promise.all([...this.runners.values()].map((r) => r.start()));
    for (const r of this.runners.values()) this.logger.info({ group_id: r.groupId, topics: r.topics }, 'consuming');
    if (this.checkpoints && this.config.DLQ_AUTO_REDRIVE) {
      const topics = [...this.runners.values()].flatMap((r) => r.topics);
      this.autoRedrive = new DependencyRedrive({
        redriver: new DeadLetterRedriver({
          kafka: this.kafka,
          producer: this.producer,
          checkpoints: this.checkpoints,
          serde: this.serde,
          namespace,
          logger: this.logger,
          metrics: this.metrics,
        }),
        probe: () => this.readiness.failingDependencies(),
        topics,
        service: this.options.serviceName,
        healthyForMs: this.config.DLQ_AUTO_REDRIVE_HEALTHY_MS,
        logger: this.logger,
      });
      this.autoRedrive.start();
    }
  }

  /** SIGTERM: fail readiness, finish in-flight records, commit, disconnect. Idempotent. */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.readiness.markDraining();
    this.logger.info({ signal }, 'draining');
    await this.stop();
    await this.producer.disconnect();
  }

  /** Stops every consumer (drain, commit, disconnect); the transport's `close`. Idempotent. */
  async stop(): Promise<void> {
    await this.autoRedrive?.stop();
    this.autoRedrive = undefined;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  /**
   * Consumer lag of a handler group on one of its topics (a catalog name), records (see KafkaConsumerRunner.lag);
   * undefined when this instance does not run that group. Uses one admin client, connected on first use.
   * @throws KafkaJS errors when the broker cannot be asked (the admin client is then reconnected on the next call).
   */
  async consumerLag(group: string | undefined, topic: string): Promise<number | undefined> {
    const runner = this.runners.get(group ?? '');
    if (!runner) return undefined;
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(() => admin);
    }
    try {
      return await runner.lag(await this.admin, topic);
    } catch (err) {
      const stale = this.admin;
      this.admin = undefined;
      void stale?.then((a) => a.disconnect()).catch(() => undefined);
      throw err;
    }
  }

  /** The running consumer of a handler group (undefined: the default group), for flow control. */
  consumer(group?: string): KafkaConsumerRunner | undefined {
    return this.runners.get(group ?? '');
  }
}

/**
 * The Kafka runtime for a Nest service: config, kafkajs client, producer, Avro serde, EventPublisher, and the consumer
 * host that KafkaRuntimeTransport hands the service's `@KafkaEventPattern` handlers to. Needs ObservabilityModule.
 */
@Module({})
export class KafkaRuntimeModule {
  static forRoot(options: KafkaRuntimeOptions): DynamicModule {
    return {
      module: KafkaRuntimeModule,
      global: true,
      providers: [
        { provide: 'KAFKA_RUNTIME_OPTIONS', useValue: options },
        { provide: PLATFORM_CONFIG, useFactory: () => loadPlatformConfig() },
        {
          provide: KAFKA,
          inject: [PLATFORM_CONFIG, LOGGER],
          useFactory: (config: PlatformConfig, logger: Logger) => createKafka(options.serviceName, config.KAFKA_BROKERS, logger),
        },
        {
          provide: KAFKA_PRODUCER,
          inject: [KAFKA],
          useFactory: (kafka: Kafka) => kafka.producer({ allowAutoTopicCreation: false }),
        },
        {
          provide: AvroSerde,
          inject: [PLATFORM_CONFIG],
          useFactory: (config: PlatformConfig) => new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL })),
        },
        {
          provide: EventPublisher,
          inject: [KAFKA_PRODUCER, AvroSerde, PlatformMetrics, PLATFORM_CONFIG],
          useFactory: (producer: Producer, serde: AvroSerde, metrics: PlatformMetrics, config: PlatformConfig) =>
            new EventPublisher(producer, serde, metrics, new TopicNamespace(config.KAFKA_TOPIC_PREFIX)),
        },
        KafkaHandlerHost,
      ],
      exports: [PLATFORM_CONFIG, KAFKA, KAFKA_PRODUCER, AvroSerde, EventPublisher, KafkaHandlerHost],
    };
  }
}
