import type { IHeaders, Producer } from 'kafkajs';
import { CORRELATION_ID_HEADER, TRACEPARENT_HEADER, childTraceparent, currentTraceContext, type PlatformMetrics } from '@llmgov/observability';
import { messageKey, type TopicName, type TopicValue } from '@llmgov/contracts';
import type { AvroSerde } from './serde.js';
import type { TopicNamespace } from './topic-prefix.js';

/** One record to publish. Its Kafka key is derived from the value by the topic catalog (messageKey). */
export interface PublishRecord<T> {
  value: T;
  headers?: Record<string, string>;
}

/**
 * Publishes Avro records. Each record gets the current trace context in its headers
 * (`traceparent` as a child span, `x-correlation-id`), and the send resolves when all in-sync
 * replicas acknowledged it (acks = all). With a `namespace`, records go to `<prefix><topic>` (encoded with the
 * catalog topic's schema).
 */
export class EventPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly serde: AvroSerde,
    private readonly metrics?: PlatformMetrics,
    private readonly namespace?: TopicNamespace,
  ) {}

  /** Publishes one value to a catalog topic; the value must be of the type the topic carries (checked at compile time). */
  async publish<T extends TopicName>(topic: T, record: PublishRecord<TopicValue<T>>): Promise<void> {
    await this.publishMany(topic, [record]);
  }

  /**
   * Encodes and sends `records` to `topic` in one produce request.
   * @throws ConfluentSchemaRegistryValidationError when a value does not match the topic's schema;
   *         RetriableError / KafkaJS errors when the registry or broker cannot be reached.
   */
  async publishMany<T extends TopicName>(topic: T, records: PublishRecord<TopicValue<T>>[]): Promise<void> {
    if (records.length === 0) return;
    const ctx = currentTraceContext();
    const messages = await Promise.all(
      records.map(async (r) => {
        const headers: IHeaders = { ...(r.headers ?? {}) };
        headers[TRACEPARENT_HEADER] ??= childTraceparent(ctx?.traceparent);
        if (ctx?.correlationId && headers[CORRELATION_ID_HEADER] === undefined) headers[CORRELATION_ID_HEADER] = ctx.correlationId;
        return { key: messageKey(topic, r.value), value: await this.serde.encode(topic, r.value), headers };
      }),
    );
    await this.producer.send({ topic: this.namespace?.wire(topic) ?? topic, acks: -1, messages });
    this.metrics?.messagesProduced.inc({ topic }, records.length);
  }
}
