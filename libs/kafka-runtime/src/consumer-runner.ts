import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import {
  CORRELATION_ID_HEADER,
  TRACEPARENT_HEADER,
  childTraceparent,
  runWithTraceContext,
  type Logger,
  type PlatformMetrics,
} from '@llmgov/observability';
import type { AvroSerde } from './serde.js';
import type { DeadLetterPublisher } from './dead-letter.js';
import { errorClass, errorCode, errorMessage, isRetriable } from './errors.js';
import { headersToStrings } from './headers.js';
import { OffsetTracker } from './offset-tracker.js';

/** What a handler did with a record. `skipped` is for stale, duplicate or irrelevant records. */
export type HandlerOutcome = { status: 'success' } | { status: 'skipped'; reason: string };
export const Outcome = {
  success: (): HandlerOutcome => ({ status: 'success' }),
  skipped: (reason: string): HandlerOutcome => ({ status: 'skipped', reason }),
};

/** Where a record came from, passed to handlers beside the decoded value. */
export interface RecordContext {
  topic: string;
  partition: number;
  /** Kafka offset, as a decimal string (int64). */
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** Broker timestamp of the record, epoch ms. */
  timestamp: number;
  /** 1 for the first try, 2+ for in-process retries. */
  attempt: number;
}

export type RecordHandler = (value: unknown, ctx: RecordContext) => Promise<HandlerOutcome | void>;

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  groupId: string;
  serviceName: string;
  /** One handler per topic. */
  handlers: Map<string, RecordHandler>;
  serde: AvroSerde;
  deadLetters: DeadLetterPublisher;
  metrics: PlatformMetrics;
  logger: Logger;
  /** In-process retry of retriable errors: first delay (ms), cap (ms), total attempts including the first. */
  retry: { initialMs: number; maxMs: number; maxAttempts: number };
  /** Records handled at once per partition batch; records with the same key are handled in order. */
  concurrency: number;
  partitionsConsumedConcurrently: number;
  fromBeginning: boolean;
}

/**
 * Owns one kafkajs consumer: manual commits, at-least-once delivery, bounded per-key concurrency,
 * retry with jittered exponential backoff (cockatiel's decorrelated jitter), and dead-lettering.
 * An offset is committed only after its record's effect and any DLQ write were acknowledged, and only
 * up to the highest contiguous completed offset of its partition (see OffsetTracker).
 */
export class KafkaConsumerRunner {
  private consumer: Consumer | undefined;
  private joined = false;
  private crashed: string | undefined;
  private readonly retryPolicy;

  constructor(private readonly opts: ConsumerRunnerOptions) {
    this.retryPolicy = retry(handleWhen(isRetriable), {
      maxAttempts: Math.max(0, opts.retry.maxAttempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: opts.retry.initialMs, maxDelay: opts.retry.maxMs }),
    });
  }

  get topics(): string[] {
    return [...this.opts.handlers.keys()];
  }

  /** Connects, subscribes and resolves once the consumer joined its group. */
  async start(): Promise<void> {
    const { kafka, groupId, logger } = this.opts;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        this.joined = true;
        logger.info({ group_id: groupId, member_assignment: e.payload.memberAssignment }, 'consumer joined group');
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.crashed = errorMessage(e.payload.error);
      logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
      if (e.payload.restart) this.crashed = undefined;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.opts.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    await joined;
  }

  /** Ready when joined to the group and not crashed. */
  get ready(): boolean {
    return this.joined && this.crashed === undefined;
  }

  /** Stops fetching, lets the current batches finish and commit, then disconnects. */
  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    this.joined = false;
    if (c) await c.disconnect();
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    this.consumer?.pause(topics);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    this.consumer?.resume(topics);
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset } = payload;
    const { topic, partition } = batch;
    const tracker = new OffsetTracker();
    const inflight = new Set<Promise<void>>();
    const keyTails = new Map<string, Promise<void>>();
    let fatal: unknown;

    for (const message of batch.messages) {
      if (!isRunning() || isStale() || fatal !== undefined) break;
      while (inflight.size >= this.opts.concurrency) await Promise.race(inflight);
      if (fatal !== undefined) break;
      const offset = BigInt(message.offset);
      tracker.begin(offset);
      const keyId = message.key ? message.key.toString('base64') : undefined;
      const previous = keyId ? keyTails.get(keyId) : undefined;
      const run = (previous ?? Promise.resolve())
        .then(() => this.processRecord(topic, partition, message))
        .then(
          () => tracker.complete(offset),
          (err: unknown) => {
            fatal ??= err;
          },
        );
      const tracked = run.finally(() => {
        inflight.delete(tracked);
        if (keyId && keyTails.get(keyId) === tracked) keyTails.delete(keyId);
      });
      inflight.add(tracked);
      if (keyId) keyTails.set(keyId, tracked);
      void heartbeat().catch(() => undefined);
    }
    await Promise.all(inflight);

    const next = tracker.nextCommitOffset();
    if (next !== undefined) {
      resolveOffset((next - 1n).toString());
      await this.consumer?.commitOffsets([{ topic, partition, offset: next.toString() }]);
      tracker.markCommitted();
    }
    const lag = Number(batch.offsetLag());
    if (Number.isFinite(lag)) this.opts.metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    if (fatal !== undefined) throw fatal;
  }

  /**
   * Decodes and handles one record. Resolves when the record is done: handled, skipped, or dead-lettered.
   * Rejects only when the DLQ write itself failed; the offset then stays uncommitted and the record is redelivered.
   */
  private async processRecord(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const { metrics, logger, serde, deadLetters } = this.opts;
    const handler = this.opts.handlers.get(topic);
    const headers = headersToStrings(message.headers);
    const trace = { traceparent: childTraceparent(headers[TRACEPARENT_HEADER]), correlationId: headers[CORRELATION_ID_HEADER] };
    const started = performance.now();
    let attempts = 0;
    await runWithTraceContext(trace, async () => {
      try {
        if (!handler) throw new Error(`no handler for topic ${topic}`);
        const outcome = await this.retryPolicy.execute(async () => {
          attempts++;
          if (attempts > 1) metrics.messagesConsumed.inc({ topic, outcome: 'retried' });
          const value = await serde.decode(message.value);
          return handler(value, {
            topic,
            partition,
            offset: message.offset,
            key: message.key ? message.key.toString('utf8') : null,
            headers,
            timestamp: Number(message.timestamp),
            attempt: attempts,
          });
        });
        const status = outcome?.status ?? 'success';
        metrics.messagesConsumed.inc({ topic, outcome: status });
        metrics.handlerDuration.observe({ topic, outcome: status }, (performance.now() - started) / 1000);
        if (outcome?.status === 'skipped') {
          logger.debug({ topic, partition, offset: message.offset, reason: outcome.reason }, 'record skipped');
        }
      } catch (err) {
        logger.warn(
          { topic, partition, offset: message.offset, attempts, error_class: errorClass(err), error_code: errorCode(err), error: errorMessage(err) },
          'record dead-lettered',
        );
        await deadLetters.send({
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers,
          error: err,
          attempts,
        });
        metrics.messagesConsumed.inc({ topic, outcome: 'dlq' });
        metrics.handlerDuration.observe({ topic, outcome: 'dlq' }, (performance.now() - started) / 1000);
      }
    });
  }
}
