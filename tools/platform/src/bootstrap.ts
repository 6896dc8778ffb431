import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { kafkaTopicConfigs, registerSchemas } from '@llmgov/contracts';
import { TopicNamespace, createKafka, ensureTopics } from '@llmgov/kafka-runtime';
import { migrate } from '@llmgov/persistence';
import { createLogger } from '@llmgov/observability';
import type { PlatformConfig } from '@llmgov/config';

export interface BootstrapReport {
  topicsCreated: string[];
  schemasRegistered: number;
  migrationsApplied: number[];
}

/**
 * Prepares a running stack for the services (idempotent): creates every topic and DLQ of the catalog with
 * its partitions and retention, registers every value schema under `<topic>-value` with BACKWARD
 * compatibility, and applies pending Postgres migrations. With `KAFKA_TOPIC_PREFIX` set, the topics and DLQs are
 * created as `<prefix><topic>` (a benchmark's namespace; schema subjects stay the catalog's).
 */
export async function bootstrapPlatform(config: PlatformConfig): Promise<BootstrapReport> {
  const logger = createLogger('platform-bootstrap', 'warn');
  const kafka = createKafka('platform-bootstrap', config.KAFKA_BROKERS, logger);
  const namespace = new TopicNamespace(config.KAFKA_TOPIC_PREFIX);
  const topicsCreated = await ensureTopics(
    kafka,
    kafkaTopicConfigs().map((t) => ({ ...t, topic: namespace.wire(t.topic) })),
  );
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const ids = await registerSchemas(registry, { registryUrl: config.SCHEMA_REGISTRY_URL });
  const migrationsApplied = await migrate(config.DATABASE_URL);
  return { topicsCreated, schemasRegistered: ids.size, migrationsApplied };
}
