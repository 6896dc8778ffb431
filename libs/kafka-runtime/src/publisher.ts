import type { IHeaders, Message, Producer } from 'kafkajs';
import { CORRELATION_ID_HEADER, TRACEPARENT_HEADER, childTraceparent, currentTraceContext, type PlatformMetrics } from '@llmgov/observability';
import { messageKey, schemaVersionOf, type TopicName, type TopicValue } from '@llmgov/contracts';
import type { AvroSerde } from './serde.js';
import type { TopicNamespace } from './topic-prefix.js';

/** One record to publish. Its Kafka key is derived from the value by the topic catalog (messageKey). */
export interface PublishRecord<T> {
  value: T;
  headers?: Record<string, string>;
}

/** Most messages in one produce request; a larger gathering is sent as several. */
const MAX_MESSAGES_PER_REQUEST = 500;

interface Waiting {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Publishes Avro records. Each record gets the current trace context in its headers
 * (`traceparent` as a child span, `x-correlation-id`), and the send resolves when all in-sync
 * replicas acknowledged it (acks = all). With a `namespace`, records go to `<prefix><topic>` (encoded with the
 * catalog topic's schema).
 *
 * Publishes coalesce: every call made while a produce request is being prepared (the same turn of the event loop, e.g.
 * the 32 records a consumer has in flight) goes out in one `sendBatch` request, and each call resolves when its own
 * records were acknowledged. One request per record costs the broker and this process far more CPU than the records
 * themselves (bench/README.md, ingest throughput). Order is kept: records of one call, and calls in the order made.
 * Kafka flow control is this project's own business, so this is written here rather than taken from a library.
 */
export class EventPublisher {
  private waiting: Waiting[] = [];
  private flushScheduled = false;

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
   * Encodes `records` and sends them to `topic` (in the next produce request, with whatever else is being published).
   * @throws ConfluentSchemaRegistryValidationError when a value does not match the topic's schema;
   *         RetriableError / KafkaJS errors when the registry or broker cannot be reached (the whole request failed).
   */
  async publishMany<T extends TopicName>(topic: T, records: PublishRecord<TopicValue<T>>[]): Promise<void> {
    if (records.length === 0) return;
    const ctx = currentTraceContext();
    const schemaVersion = schemaVersionOf(topic);
    const messages = await Promise.all(
      records.map(async (r) => {
        const headers: IHeaders = { ...(r.headers ?? {}) };
        headers[TRACEPARENT_HEADER] ??= childTraceparent(ctx?.traceparent);
        if (ctx?.correlationId && headers[CORRELATION_ID_HEADER] === undefined) headers[CORRELATION_ID_HEADER] = ctx.correlationId;
        // The envelope's schema_version is the topic's current contract version, whatever the producer's newEnvelope() said.
        const value = { ...r.value, schema_version: schemaVersion };
        return { key: messageKey(topic, r.value), value: await this.serde.encode(topic, value), headers };
      }),
    );
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ topic: this.namespace?.wire(topic) ?? topic, messages, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    this.metrics?.messagesProduced.inc({ topic }, records.length);
  }

  /**
   * Publishes a tombstone (a record with a null value) under `key` to a catalog topic: "the entity of this key is deleted".
   * The key must be the one the topic's values carry (messageKey, e.g. `tenant_id/document_id`), so the tombstone lands
   * on the same partition as the entity's records and after them. Consumers see it only with `tombstones: true`.
   * @throws KafkaJS errors when the broker cannot be reached.
   */
  async publishTombstone(topic: TopicName, key: string, headers: Record<string, string> = {}): Promise<void> {
    const ctx = currentTraceContext();
    const h: IHeaders = { ...headers };
    h[TRACEPARENT_HEADER] ??= childTraceparent(ctx?.traceparent);
    if (ctx?.correlationId && h[CORRELATION_ID_HEADER] === undefined) h[CORRELATION_ID_HEADER] = ctx.correlationId;
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ topic: this.namespace?.wire(topic) ?? topic, messages: [{ key, value: null, headers: h }], resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    this.metrics?.messagesProduced.inc({ topic });
  }

  /** Sends everything gathered since the last flush, in requests of at most MAX_MESSAGES_PER_REQUEST messages. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const calls = this.waiting;
    this.waiting = [];
    let request: Waiting[] = [];
    let size = 0;
    // One request after the other, so records of one key never overtake each other across requests.
    for (const call of calls) {
      if (size > 0 && size + call.messages.length > MAX_MESSAGES_PER_REQUEST) {
        await this.send(request);
        request = [];
        size = 0;
      }
      request.push(call);
      size += call.messages.length;
    }
    if (request.length > 0) await this.send(request);
  }

  private async send(calls: Waiting[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const c of calls) {
      const list = byTopic.get(c.topic) ?? [];
      list.push(...c.messages);
      byTopic.set(c.topic, list);
    }
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      for (const c of calls) c.resolve();
    } catch (err) {
      for (const c of calls) c.reject(err);
    }
  }
}
