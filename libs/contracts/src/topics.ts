import { schemaVersions, type SchemaName, type SchemaValueMap, type Tier } from './generated/index.js';

/**
 * Every Kafka topic of the platform, named `<domain>.<entity>.<event>.v<major>`.
 * Each carries Avro values registered under the subject `<topic>-value`; its dead-letter topic is `<topic>.dlq`.
 */
export const Topics = {
  documentSubmitted: 'documents.document.submitted.v1',
  documentValidated: 'documents.document.validated.v1',
  chunkEmbedded: 'documents.chunk.embedded.v1',
  indexStatus: 'documents.index.status.v1',
  inferenceSubmitted: 'inference.request.submitted.v1',
  inferenceValidated: 'inference.request.validated.v1',
  inferenceRoutedS: 'inference.request.routed.s.v1',
  inferenceRoutedM: 'inference.request.routed.m.v1',
  inferenceRoutedL: 'inference.request.routed.l.v1',
  inferenceCompleted: 'inference.request.completed.v1',
  inferenceJudged: 'inference.result.judged.v1',
  jobStatus: 'jobs.job.status.v1',
  usageRecorded: 'billing.usage.recorded.v1',
  costRecorded: 'billing.cost.recorded.v1',
  budgetAlert: 'billing.budget.alert.v1',
  feedbackSubmitted: 'feedback.feedback.submitted.v1',
  labelCurated: 'feedback.label.curated.v1',
} as const;

/** A topic name from {@link Topics}. */
export type TopicName = (typeof Topics)[keyof typeof Topics];

/** The dead-letter topic of `T`. */
export type DlqTopicName<T extends string = TopicName> = `${T}.dlq`;

/** The subject of `T`'s value schema (TopicNameStrategy). */
export type ValueSubject<T extends string = TopicName> = `${T}-value`;

/** The schema (file `schemas/<name>.avsc`) each topic's values follow; the three routed topics share one. */
export const topicSchemas = {
  [Topics.documentSubmitted]: 'documents.document.submitted.v1',
  [Topics.documentValidated]: 'documents.document.validated.v1',
  [Topics.chunkEmbedded]: 'documents.chunk.embedded.v1',
  [Topics.indexStatus]: 'documents.index.status.v1',
  [Topics.inferenceSubmitted]: 'inference.request.submitted.v1',
  [Topics.inferenceValidated]: 'inference.request.validated.v1',
  [Topics.inferenceRoutedS]: 'inference.request.routed.v1',
  [Topics.inferenceRoutedM]: 'inference.request.routed.v1',
  [Topics.inferenceRoutedL]: 'inference.request.routed.v1',
  [Topics.inferenceCompleted]: 'inference.request.completed.v1',
  [Topics.inferenceJudged]: 'inference.result.judged.v1',
  [Topics.jobStatus]: 'jobs.job.status.v1',
  [Topics.usageRecorded]: 'billing.usage.recorded.v1',
  [Topics.costRecorded]: 'billing.cost.recorded.v1',
  [Topics.budgetAlert]: 'billing.budget.alert.v1',
  [Topics.feedbackSubmitted]: 'feedback.feedback.submitted.v1',
  [Topics.labelCurated]: 'feedback.label.curated.v1',
} as const satisfies { readonly [T in TopicName]: SchemaName };

/** Topic name to the generated TypeScript type of its values. */
export type TopicValueMap = { [T in TopicName]: SchemaValueMap[(typeof topicSchemas)[T]] };

/** The value type of topic `T`, e.g. `TopicValue<typeof Topics.jobStatus>` is `JobStatusChanged`. */
export type TopicValue<T extends TopicName> = TopicValueMap[T];

/** Kafka `cleanup.policy` values. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** How a topic is created and which contract its values follow. */
export interface TopicSpec {
  /** Topic name. */
  readonly name: TopicName;
  /** File name of the value schema inside {@link schemasDir}, e.g. `inference.request.routed.v1.avsc`. */
  readonly schemaFile: `${SchemaName}.avsc`;
  /** The schema name (`schemaFile` without `.avsc`), a key of `SchemaValueMap`. */
  readonly schemaName: SchemaName;
  /** Registry subject of the value schema: `${name}-value`. */
  readonly subject: ValueSubject;
  /** Partition count. */
  readonly partitions: number;
  /** `retention.ms`: how long records are kept, in milliseconds. */
  readonly retentionMs: number;
  /** `cleanup.policy`. */
  readonly cleanupPolicy: CleanupPolicy;
  /** Dead-letter topic: `${name}.dlq`, carrying the original bytes unchanged plus provenance headers. */
  readonly dlq: DlqTopicName;
  /**
   * Value fields whose strings, joined with '/', are the Kafka message key (see messageKey), so all events of one
   * entity stay ordered on one partition: `tenant_id/document_id` for documents (a document id is unique within its
   * tenant), `job_id` for jobs and feedback, `tenant_id` for billing (a tenant's spend is accounted in order).
   */
  readonly keyFields: readonly [string, ...string[]];
}

/** Seven days in milliseconds: the retention of every platform topic. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Dead-letter topics keep records for 14 days, twice the source retention, so a DLQ can still be redriven
 * after the cause is fixed even when the original records have aged out.
 */
export const DLQ_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;

/** Topics every request, document or chunk passes through get three partitions; low-volume topics get one. */
const BUSY = 3;
const QUIET = 1;

function spec(name: TopicName, partitions: number, ...keyFields: [string, ...string[]]): TopicSpec {
  const schemaName = topicSchemas[name];
  return {
    name,
    schemaFile: `${schemaName}.avsc`,
    schemaName,
    subject: valueSubject(name),
    partitions,
    retentionMs: DEFAULT_RETENTION_MS,
    cleanupPolicy: 'delete',
    dlq: dlqTopic(name),
    keyFields,
  };
}

/** Every topic of the platform with its creation settings, in pipeline order. */
export const topicCatalog: readonly TopicSpec[] = Object.freeze([
  spec(Topics.documentSubmitted, BUSY, 'tenant_id', 'document_id'),
  spec(Topics.documentValidated, BUSY, 'tenant_id', 'document_id'),
  spec(Topics.chunkEmbedded, BUSY, 'tenant_id', 'document_id'),
  spec(Topics.indexStatus, BUSY, 'tenant_id', 'document_id'),
  spec(Topics.inferenceSubmitted, BUSY, 'job_id'),
  spec(Topics.inferenceValidated, BUSY, 'job_id'),
  spec(Topics.inferenceRoutedS, BUSY, 'job_id'),
  spec(Topics.inferenceRoutedM, BUSY, 'job_id'),
  spec(Topics.inferenceRoutedL, BUSY, 'job_id'),
  spec(Topics.inferenceCompleted, BUSY, 'job_id'),
  spec(Topics.inferenceJudged, BUSY, 'job_id'),
  spec(Topics.jobStatus, BUSY, 'job_id'),
  spec(Topics.usageRecorded, BUSY, 'tenant_id'),
  spec(Topics.costRecorded, BUSY, 'tenant_id'),
  spec(Topics.budgetAlert, QUIET, 'tenant_id'),
  spec(Topics.feedbackSubmitted, BUSY, 'job_id'),
  spec(Topics.labelCurated, QUIET, 'job_id'),
]);

const byName = new Map<string, TopicSpec>(topicCatalog.map((s) => [s.name, s]));

/** True when `name` is one of the platform's topics (DLQs excluded). */
export function isTopicName(name: string): name is TopicName {
  return byName.has(name);
}

/** The spec of `name`; throws for an unknown topic. */
export function topicSpec(name: TopicName | string): TopicSpec {
  const found = byName.get(name);
  if (!found) throw new Error(`unknown topic ${JSON.stringify(name)}; known topics: ${[...byName.keys()].join(', ')}`);
  return found;
}

/**
 * The Kafka message key of a value of `topic`: its catalog key fields joined with '/'.
 * @throws Error when a key field is missing or not a string (a contract bug, caught before the send).
 */
export function messageKey<T extends TopicName>(topic: T, value: TopicValue<T>): string {
  const { keyFields } = topicSpec(topic);
  return keyFields
    .map((f) => {
      const v = (value as unknown as Record<string, unknown>)[f];
      if (typeof v !== 'string') throw new Error(`${topic}: key field ${f} is ${v === null ? 'null' : typeof v}, expected a string`);
      return v;
    })
    .join('/');
}

/** The dead-letter topic of `name`: `<name>.dlq`. */
export function dlqTopic<T extends string>(name: T): DlqTopicName<T> {
  return `${name}.dlq`;
}

/** The value subject of `name`: `<name>-value`. */
export function valueSubject<T extends string>(name: T): ValueSubject<T> {
  return `${name}-value`;
}

/** The routed topic of each tier. */
export const RoutedTopics = {
  S: Topics.inferenceRoutedS,
  M: Topics.inferenceRoutedM,
  L: Topics.inferenceRoutedL,
} as const satisfies { readonly [K in Tier]: TopicName };

/** One of the three routed topics. */
export type RoutedTopicName = (typeof RoutedTopics)[Tier];

/** The topic that carries routed requests for `tier` (one consumer group per tier/pool reads it). */
export function routedTopicForTier<T extends Tier>(tier: T): (typeof RoutedTopics)[T] {
  const topic = RoutedTopics[tier];
  if (!topic) throw new Error(`unknown tier ${JSON.stringify(tier)}; expected one of ${Object.keys(RoutedTopics).join(', ')}`);
  return topic;
}

/** The tier of a routed topic, or undefined when `topic` is not a routed topic. */
export function tierForRoutedTopic(topic: string): Tier | undefined {
  for (const [tier, name] of Object.entries(RoutedTopics) as [Tier, string][]) if (name === topic) return tier;
  return undefined;
}

/** Every topic name followed by every DLQ name, in catalog order. */
export function allTopicNames(): string[] {
  return [...topicCatalog.map((s) => s.name), ...topicCatalog.map((s) => s.dlq)];
}

/**
 * Creation settings of every topic and DLQ in the shape kafkajs' `admin.createTopics({ topics })` takes
 * (structurally; this package does not depend on kafkajs). DLQs get the source topic's partition count and
 * {@link DLQ_RETENTION_MS}.
 */
export function kafkaTopicConfigs(opts: { replicationFactor?: number } = {}): Array<{
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries: Array<{ name: string; value: string }>;
}> {
  const replicationFactor = opts.replicationFactor ?? 1;
  const entries = (retentionMs: number, cleanupPolicy: CleanupPolicy) => [
    { name: 'retention.ms', value: String(retentionMs) },
    { name: 'cleanup.policy', value: cleanupPolicy },
  ];
  return [
    ...topicCatalog.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: entries(s.retentionMs, s.cleanupPolicy),
    })),
    ...topicCatalog.map((s) => ({
      topic: s.dlq,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: entries(DLQ_RETENTION_MS, 'delete'),
    })),
  ];
}

/** The `schema_version` producers write on `topic` today (its schema's {@link schemaVersions} entry). */
export function schemaVersionOf(topic: TopicName): number {
  return schemaVersions[topicSchemas[topic]];
}
