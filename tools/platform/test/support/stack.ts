/**
 * The clients an integration spec of the platform holds while the real services run under their own
 * KAFKA_TOPIC_PREFIX (`infra/local/up.sh`, then `set -a; . .local/stack.env`): the platform config with that prefix,
 * Kafka (a producer, and a probe consumer reading the prefixed topics from the start), the Avro serde and a Postgres
 * pool. `close` stops what was started, in reverse, and deletes the prefix's topics and consumer groups; it copes with
 * an `open` that failed half way.
 */
import path from 'node:path';
import pg from 'pg';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { Topics, schemaVersionOf, type InferenceRequestValidated, type TopicName } from '@llmgov/contracts';
import { AvroSerde, createKafka, deleteNamespace, newEnvelope } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { migrate } from '@llmgov/persistence';
import { waitForRecord } from '@llmgov/testing';
import { bootstrapPlatform, repoRoot, startPlatform, type RunningPlatform, type StartOptions } from '../../src/index.js';

/** Where the services started by a spec write their logs: .local/logs/<name>. */
export const testLogDir = (name = 'test') => path.join(repoRoot(), '.local', 'logs', name);

/**
 * Bootstraps the live config's topics and schemas (no topic prefix) and starts the platform on it, logging to
 * {@link testLogDir}(`logName`).
 */
export async function bootAndStart(
  opts: Omit<StartOptions, 'config' | 'logDir'> & { logName?: string },
): Promise<{ config: PlatformConfig; platform: RunningPlatform }> {
  const { logName, ...start } = opts;
  const config = loadPlatformConfig();
  await bootstrapPlatform(config);
  return { config, platform: await startPlatform({ config, logDir: testLogDir(logName), ...start }) };
}

export class PlatformTestStack {
  config!: PlatformConfig;
  kafka!: Kafka;
  serde!: AvroSerde;
  pool!: pg.Pool;
  producer: Producer | undefined;
  consumer: Consumer | undefined;
  platform: RunningPlatform | undefined;

  /** `prefix`: the topic prefix of this run (also the probe's consumer group prefix); `clientId`: the Kafka client id. */
  constructor(
    readonly prefix: string,
    private readonly clientId: string,
  ) {}

  /** Bootstraps the prefixed topics and schemas, migrates Postgres, opens a pool (2 connections) and Kafka clients. */
  async open(opts: { producer: boolean }): Promise<void> {
    this.config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: this.prefix };
    await bootstrapPlatform(this.config);
    await migrate(this.config.DATABASE_URL);
    this.pool = new pg.Pool({ connectionString: this.config.DATABASE_URL, max: 2 });
    this.kafka = createKafka(this.clientId, this.config.KAFKA_BROKERS, createLogger('it', 'error'));
    if (opts.producer) {
      this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
      await this.producer.connect();
    }
    this.serde = new AvroSerde(new SchemaRegistry({ host: this.config.SCHEMA_REGISTRY_URL }));
  }

  /**
   * Reads `topics` (unprefixed names) of this run from the beginning in the group `<prefix>probe` and hands each
   * record's topic (unprefixed) and value to `onRecord`.
   */
  async consume(topics: readonly TopicName[], onRecord: (topic: TopicName, value: Buffer | null) => Promise<void>): Promise<void> {
    this.consumer = this.kafka.consumer({ groupId: `${this.prefix}probe`, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: topics.map((t) => `${this.prefix}${t}`), fromBeginning: true });
    await this.consumer.run({ eachMessage: ({ topic, message }) => onRecord(topic.slice(this.prefix.length) as TopicName, message.value) });
  }

  /** Encodes `value` with the topic's schema and produces it under `key` to the prefixed `topic`. */
  async send(topic: TopicName, key: string, value: unknown): Promise<void> {
    await this.producer!.send({ topic: `${this.prefix}${topic}`, messages: [{ key, value: await this.serde.encode(topic, value) }] });
  }

  /** Starts the platform on this run's config, routing by policy, logging to {@link testLogDir}. */
  async start(opts: Omit<StartOptions, 'config' | 'policy' | 'logDir'>): Promise<RunningPlatform> {
    this.platform = await startPlatform({ config: this.config, policy: true, logDir: testLogDir(), ...opts });
    return this.platform;
  }

  /** Stops the platform if it runs (again later: nothing). */
  async stopPlatform(): Promise<void> {
    const platform = this.platform;
    this.platform = undefined;
    await platform?.stop();
  }

  async close(): Promise<void> {
    await this.stopPlatform();
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    if (this.kafka) await deleteNamespace(this.kafka, this.prefix).catch(() => undefined);
    await this.pool?.end();
  }
}

/**
 * A validated request of `tenant` on its default route, without RAG, as the router consumes it: 32 tokens at
 * temperature 0, a 120 s latency and 0.05 USD budget, min_quality 0.5, team `it`.
 */
export function validatedRequest(tenant: string, jobId: string, fields: { prompt: string; feature: string }): InferenceRequestValidated {
  return {
    ...newEnvelope(tenant, jobId, schemaVersionOf(Topics.inferenceValidated)),
    job_id: jobId,
    idempotency_key: null,
    prompt: fields.prompt,
    system_prompt: null,
    budget: { latency_ms: 120_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 32, temperature: 0, rag: false, tier_hint: null },
    team: 'it',
    feature: fields.feature,
    metadata: {},
    prompt_hash: jobId,
    injection_score: 0,
    pii_masked_count: 0,
    route: null,
  };
}

/** Resolves when `documentId` is reported UPSERTED on the (unprefixed) index-status topic; rejects after `timeoutMs`. */
export async function waitForUpserted(kafka: Kafka, serde: AvroSerde, documentId: string, timeoutMs: number): Promise<void> {
  await waitForRecord(
    kafka,
    Topics.indexStatus,
    async (r) => {
      const v = await serde.decode<{ document_id: string; status: string }>(r.message.value);
      return v.document_id === documentId && v.status === 'UPSERTED';
    },
    timeoutMs,
  );
}
