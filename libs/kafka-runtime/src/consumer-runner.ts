import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { ExponentialBackoff, handleAll, handleWhen, retry } from 'cockatiel';
import { CORRELATION_ID_HEADER, TRACEPARENT_HEADER, childTraceparent, runWithTraceContext, type Logger, type PlatformMetrics } from '@llmgov/observability';
import type { AvroSerde } from './serde.js';
import type { DeadLetterPublisher } from './dead-letter.js';
import { errorClass, errorCode, errorMessage, isRetriable } from '@llmgov/errors';
import { headersToStrings } from './headers.js';
import { OffsetTracker } from './offset-tracker.js';
import { InFlightLimiter } from './in-flight-limiter.js';
import type { TopicNamespace } from './topic-prefix.js';

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
  /** Records in flight at once across all partitions of this consumer; records with the same key run in order. */
  maxInFlight: number;
  partitionsConsumedConcurrently: number;
  fromBeginning: boolean;
  /** Session timeout, ms (default 30 000); heartbeats every third of it, at most every 3 s. */
  sessionTimeoutMs?: number;
  /** How often completed offsets are committed, ms. Default 200. */
  commitIntervalMs?: number;
  /** How long `stop` waits for in-flight records before disconnecting, ms. Default 30 000. */
  drainTimeoutMs?: number;
  /**
   * Names of the external dependencies (Postgres, Redis...) that are down now; empty when all answer. While any is
   * down the runner stops fetching, and a record whose retriable failure outlasts its retries waits for them to come
   * back and is retried, instead of going to the DLQ. Without a probe, retriable failures are dead-lettered after
   * `retry.maxAttempts`.
   */
  dependencyProbe?: () => Promise<string[]>;
  /** How often the dependency probe runs, ms. Default 1 000. */
  dependencyCheckIntervalMs?: number;
  /** Topics whose handler receives the record's raw value bytes (`Buffer | null`) instead of the decoded Avro value. */
  rawTopics?: ReadonlySet<string>;
  /**
   * Topics whose handler receives `null` for a tombstone (a record with a null or empty value: on a keyed, compacted
   * topic, "this key is deleted"); the key says what was deleted. Elsewhere a tombstone is undecodable and dead-lettered.
   */
  tombstoneTopics?: ReadonlySet<string>;
  /** Broker names are `<prefix><topic>`; handlers, `pause`/`resume`, metrics and the DLQ publisher see catalog names. */
  namespace?: TopicNamespace;
}

/** Thrown inside the runner when `stop` ends a wait for dependencies: the record stays uncommitted and is redelivered. */
class AbandonedAtStop extends Error {
  override readonly name = 'AbandonedAtStop';
}

/** Per-partition state of the current assignment. */
interface PartitionState {
  tracker: OffsetTracker;
  /** Tail of the in-order chain of each record key (base64). */
  keyTails: Map<string, Promise<void>>;
}

/** How long a dispatch loop waits for a free slot before it heartbeats and checks again, ms. */
const SLOT_WAIT_MS = 1_000;

/**
 * Owns one kafkajs consumer (one consumer group): manual commits, at-least-once delivery, bounded in-flight work,
 * per-key ordering, retry with jittered exponential backoff (cockatiel's decorrelated jitter), and dead-lettering.
 *
 * Records are pipelined: a batch returns once its records are *dispatched*, so the next fetch overlaps with work
 * in flight and a slow record never idles the others (no per-batch barrier). Dispatch waits for one of
 * `maxInFlight` slots, which is the backpressure on fetching; `pause`/`resume` stop and restart fetching of
 * partitions (flow control from outside, e.g. engine saturation). An offset is committed only after its record's
 * effect and any DLQ write were acknowledged, and only up to the highest contiguous completed offset of its
 * partition (see OffsetTracker), every `commitIntervalMs`. After a rebalance kafkajs refetches from the committed
 * offset; records this process already began on a partition it kept are not begun twice.
 */
export class KafkaConsumerRunner {
  private consumer: Consumer | undefined;
  private joined = false;
  private crashed: string | undefined;
  private readonly retryPolicy;
  private readonly slots: InFlightLimiter;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly pausedTopics = new Set<string>();
  /**
   * True once `consumer.run` was called: kafkajs refuses pause/resume before it (KafkaJSNonRetriableError "consumer#run
   * must be called first"), so until then pause/resume only record the state, which `start` applies after `run`.
   */
  private running = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Aborted by `stop`: ends the DLQ-write retries of records still failing to dead-letter, and dependency waits. */
  private readonly stopController = new AbortController();
  /** Dependencies reported down by the last probe; consumption is suspended while this is non-empty. */
  private dependenciesDown: string[] = [];
  /** Resolved when the dependencies are back (created when they go down). */
  private dependenciesBack: { promise: Promise<void>; resolve: () => void } | undefined;
  private dependencyTimer: NodeJS.Timeout | undefined;
  /** A DLQ write that fails (broker down) is retried until it succeeds or the consumer stops (then: redelivered). */
  private readonly deadLetterRetry = retry(handleAll, {
    maxAttempts: Number.MAX_SAFE_INTEGER,
    backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10_000 }),
  });

  constructor(private readonly opts: ConsumerRunnerOptions) {
    this.retryPolicy = retry(handleWhen(isRetriable), {
      maxAttempts: Math.max(0, opts.retry.maxAttempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: opts.retry.initialMs, maxDelay: opts.retry.maxMs }),
    });
    this.slots = new InFlightLimiter(opts.maxInFlight);
  }

  /** The broker's name of a catalog topic. */
  private wire(topic: string): string {
    return this.opts.namespace?.wire(topic) ?? topic;
  }

  get topics(): string[] {
    return [...this.opts.handlers.keys()];
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  /** Records dispatched and not yet finished. */
  get inFlight(): number {
    return this.slots.inUse;
  }

  /** Changes the in-flight bound at run time (e.g. after a pool reload). */
  setMaxInFlight(n: number): void {
    this.slots.setLimit(n);
  }

  /** Connects, subscribes and resolves once the consumer joined its group. */
  async start(): Promise<void> {
    const { kafka, groupId, logger } = this.opts;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: this.opts.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.opts.sessionTimeoutMs ?? 30_000) / 3)),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        this.joined = true;
        this.onAssignment(e.payload.memberAssignment);
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
    await consumer.subscribe({ topics: this.topics.map((t) => this.wire(t)), fromBeginning: this.opts.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.dispatchBatch(payload),
    });
    this.running = true;
    const held = this.dependenciesDown.length > 0 ? this.topics : [...this.pausedTopics];
    if (held.length > 0) consumer.pause(held.map((topic) => ({ topic: this.wire(topic) }))); // paused or suspended before start
    this.scheduleDependencyProbe(0);
    await joined;
  }

  /** Dependencies the last probe found down (empty: all up, or no probe configured). */
  get missingDependencies(): string[] {
    return [...this.dependenciesDown];
  }

  private scheduleDependencyProbe(delayMs: number): void {
    const probe = this.opts.dependencyProbe;
    if (!probe || this.stopping) return;
    this.dependencyTimer = setTimeout(() => {
      void probe()
        .catch(() => this.dependenciesDown) // a probe that fails itself changes nothing
        .then((missing) => {
          if (!this.stopping) this.setDependenciesDown(missing);
          this.scheduleDependencyProbe(this.opts.dependencyCheckIntervalMs ?? 1_000);
        });
    }, delayMs);
    this.dependencyTimer.unref(); // never what keeps a process alive
  }

  /** Suspends consumption while `missing` is non-empty (fetching stops; records in flight go on) and resumes it after. */
  private setDependenciesDown(missing: string[]): void {
    const wasDown = this.dependenciesDown.length > 0;
    if (missing.length > 0) {
      this.dependenciesDown = [...missing];
      if (wasDown) return;
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.dependenciesBack = { promise, resolve };
      if (this.running) this.consumer?.pause(this.topics.map((topic) => ({ topic: this.wire(topic) })));
      this.opts.logger.warn({ group_id: this.opts.groupId, missing }, 'dependencies down: consumption suspended');
    } else if (wasDown) {
      this.dependenciesDown = [];
      this.dependenciesBack?.resolve();
      this.dependenciesBack = undefined;
      const resume = this.topics.filter((t) => !this.pausedTopics.has(t));
      if (resume.length > 0 && this.running) this.consumer?.resume(resume.map((topic) => ({ topic: this.wire(topic) })));
      this.opts.logger.info({ group_id: this.opts.groupId }, 'dependencies back: consumption resumed');
    } else return;
    this.reportPaused();
  }

  /** Fetching of `topic` is held: paused by flow control, or suspended while dependencies are down. */
  private held(topic: string): boolean {
    return this.pausedTopics.has(topic) || this.dependenciesDown.length > 0;
  }

  /** Ready when joined to the group and not crashed. */
  get ready(): boolean {
    return this.joined && this.crashed === undefined;
  }

  /**
   * Stops fetching, waits up to `drainTimeoutMs` for records in flight, commits what completed, disconnects.
   * Records still running at the deadline stay uncommitted and are redelivered to the group.
   */
  async stop(): Promise<void> {
    const c = this.consumer;
    if (!c) return;
    this.stopping = true;
    this.stopController.abort();
    clearTimeout(this.dependencyTimer);
    if (this.running) c.pause(this.topics.map((topic) => ({ topic: this.wire(topic) })));
    const drainMs = this.opts.drainTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.slots.idle().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
    ]);
    clearTimeout(timer);
    if (!drained) this.opts.logger.warn({ in_flight: this.slots.inUse, drain_ms: drainMs }, 'drain timed out; the rest is redelivered');
    await this.commitCompleted();
    clearTimeout(this.commitTimer);
    this.consumer = undefined;
    this.joined = false;
    await c.disconnect();
  }

  /** Stops fetching the given topics (all their partitions) until `resume`; records in flight go on. */
  pause(topics: string[]): void {
    const fresh = topics.filter((t) => !this.pausedTopics.has(t));
    if (fresh.length === 0) return;
    for (const t of fresh) this.pausedTopics.add(t);
    if (this.running) this.consumer?.pause(fresh.map((topic) => ({ topic: this.wire(topic) })));
    this.reportPaused();
  }

  resume(topics: string[]): void {
    const paused = topics.filter((t) => this.pausedTopics.has(t));
    if (paused.length === 0) return;
    for (const t of paused) this.pausedTopics.delete(t);
    if (this.dependenciesDown.length === 0 && this.running) this.consumer?.resume(paused.map((topic) => ({ topic: this.wire(topic) })));
    this.reportPaused();
  }

  /**
   * Consumer lag of this consumer's group on `topic` (a catalog name), records: Σ over the topic's partitions of
   * (end offset − committed offset). A partition the group never committed counts from its earliest retained offset when
   * the consumer reads from the beginning, else as 0. Records in flight and completed-but-not-yet-committed ones count
   * (the commit runs every `commitIntervalMs`). Asked of the broker, so it stays current while the topic is paused, unlike
   * `kafka_consumer_lag`, which is updated per fetched batch.
   * @throws KafkaJS errors when the broker cannot be asked.
   */
  async lag(admin: Admin, topic: string): Promise<number> {
    const wire = this.wire(topic);
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(wire), admin.fetchOffsets({ groupId: this.opts.groupId, topics: [wire] })]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const p of ends) {
      const end = BigInt(p.high);
      const at = done.get(p.partition) ?? -1n;
      const from = at >= 0n ? at : this.opts.fromBeginning ? BigInt(p.low) : end;
      if (end > from) lag += end - from;
    }
    return Number(lag);
  }

  /** Topics currently paused by `pause`. */
  get paused(): string[] {
    return [...this.pausedTopics];
  }

  private reportPaused(): void {
    for (const topic of this.topics) {
      this.opts.metrics.pausedPartitions.set({ topic }, this.held(topic) ? this.assignedCount(topic) : 0);
    }
  }

  private assignedCount(topic: string): number {
    let n = 0;
    for (const k of this.partitions.keys()) if (k.startsWith(`${topic}:`)) n++;
    return Math.max(n, 1);
  }

  /** Keeps state only for partitions still assigned; work in flight on revoked ones finishes but is not committed. */
  private onAssignment(assignment: Record<string, number[]>): void {
    const keep = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => `${this.opts.namespace?.logical(topic) ?? topic}:${p}`)));
    for (const k of this.partitions.keys()) if (!keep.has(k)) this.partitions.delete(k);
  }

  private state(topic: string, partition: number): PartitionState {
    const k = `${topic}:${partition}`;
    let s = this.partitions.get(k);
    if (!s) {
      s = { tracker: new OffsetTracker(), keyTails: new Map() };
      this.partitions.set(k, s);
    }
    return s;
  }

  private async dispatchBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset } = payload;
    const { partition } = batch;
    const topic = this.opts.namespace?.logical(batch.topic) ?? batch.topic;
    const state = this.state(topic, partition);
    for (const message of batch.messages) {
      if (this.stopping || !isRunning() || isStale() || this.held(topic)) break;
      const offset = BigInt(message.offset);
      if (state.tracker.seen(offset)) {
        resolveOffset(message.offset); // redelivered after a rebalance; already begun here
        continue;
      }
      let slot = false;
      while (!slot && !this.stopping && isRunning() && !isStale() && !this.held(topic)) {
        slot = await this.slots.acquire(SLOT_WAIT_MS);
        await heartbeat().catch(() => undefined);
      }
      if (!slot) break; // not resolved: refetched on resume / by the next owner
      if (this.stopping || this.held(topic) || this.partitions.get(`${topic}:${partition}`) !== state) {
        this.slots.release();
        break; // paused, stopping or revoked while waiting for the slot
      }
      this.dispatch(state, topic, partition, message, offset);
      resolveOffset(message.offset);
    }
    const lag = Number(batch.offsetLag());
    if (Number.isFinite(lag)) this.opts.metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
  }

  /** Runs one record detached, after the previous record with the same key; frees its slot and marks it done. */
  private dispatch(state: PartitionState, topic: string, partition: number, message: KafkaMessage, offset: bigint): void {
    state.tracker.begin(offset);
    const keyId = message.key ? message.key.toString('base64') : undefined;
    const previous = keyId ? state.keyTails.get(keyId) : undefined;
    const run: Promise<void> = (previous ?? Promise.resolve())
      .then(() => this.processRecord(topic, partition, message))
      .then(
        () => {
          state.tracker.complete(offset);
          this.scheduleCommit();
        },
        (err: unknown) => {
          // Only a record abandoned at shutdown lands here (a DLQ write still failing, or a wait for dependencies):
          // the offset stays uncommitted and the record is redelivered.
          this.opts.logger.error({ topic, partition, offset: message.offset, error: errorMessage(err) }, 'record left uncommitted');
        },
      )
      .finally(() => {
        this.slots.release();
        if (keyId && state.keyTails.get(keyId) === run) state.keyTails.delete(keyId);
      });
    if (keyId) state.keyTails.set(keyId, run);
  }

  private scheduleCommit(): void {
    if (this.commitTimer) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitCompleted();
    }, this.opts.commitIntervalMs ?? 200);
    this.commitTimer.unref(); // never what keeps a process alive
  }

  /**
   * Commits the contiguous completed offset of every assigned partition now (serialised: one commit at a time).
   * The runner also does this on its own every `commitIntervalMs` after a completion, and at `stop`.
   */
  commitCompleted(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const c = this.consumer;
      if (!c) return;
      const offsets: { topic: string; partition: number; offset: string; state: PartitionState; next: bigint }[] = [];
      for (const [k, state] of this.partitions) {
        const next = state.tracker.nextCommitOffset();
        if (next === undefined) continue;
        const i = k.lastIndexOf(':');
        offsets.push({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: next.toString(), state, next });
      }
      if (offsets.length === 0) return;
      try {
        await c.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic: this.wire(topic), partition, offset })));
        for (const o of offsets) o.state.tracker.markCommitted(o.next);
      } catch (err) {
        // Rebalance in progress or coordinator moved: keep the offsets and try again on the next completion.
        this.opts.logger.warn({ error: errorMessage(err) }, 'offset commit failed; will retry');
        this.scheduleCommit();
      }
    });
    return this.committing;
  }

  /**
   * After a retriable failure: when a dependency is down (known from the probe loop, or probed now), suspends consumption
   * and waits until the dependencies are back. Resolves true to retry the record, false when no dependency is down (the
   * failure is the record's own: dead-letter it). Throws AbandonedAtStop when the runner stops while waiting, or is
   * already stopping while a dependency is down (the record is then redelivered rather than dead-lettered).
   */
  private async waitForDependencies(topic: string, partition: number, offset: string, err: unknown): Promise<boolean> {
    const probe = this.opts.dependencyProbe;
    if (!probe) return false;
    if (this.stopping) {
      // Stopping during an outage: the failure is the dependency's, not the record's; leave it for redelivery.
      if (this.dependenciesDown.length > 0) throw new AbandonedAtStop('consumer stopped while the dependencies of the record were down');
      return false;
    }
    if (this.dependenciesDown.length === 0) this.setDependenciesDown(await probe().catch(() => []));
    const back = this.dependenciesBack;
    if (!back) return false;
    this.opts.logger.warn({ topic, partition, offset, missing: this.dependenciesDown, error: errorMessage(err) }, 'record waits for its dependencies');
    const signal = this.stopController.signal;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new AbandonedAtStop('consumer stopped while the record waited for its dependencies'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void back.promise.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    return true;
  }

  /**
   * Decodes and handles one record. Resolves when the record is done: handled, skipped, or dead-lettered.
   * Rejects only when the DLQ write still failed when the consumer stopped; the record is then redelivered.
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
        const raw = this.opts.rawTopics?.has(topic) === true;
        const attempt = async () => {
          attempts++;
          if (attempts > 1) metrics.messagesConsumed.inc({ topic, outcome: 'retried' });
          const tombstone = this.opts.tombstoneTopics?.has(topic) === true && (message.value === null || message.value.length === 0);
          const value = raw ? message.value : tombstone ? null : await serde.decode(message.value);
          return handler(value, {
            topic,
            partition,
            offset: message.offset,
            key: message.key ? message.key.toString('utf8') : null,
            headers,
            timestamp: Number(message.timestamp),
            attempt: attempts,
          });
        };
        let outcome: HandlerOutcome | void;
        for (;;) {
          try {
            outcome = await this.retryPolicy.execute(attempt);
            break;
          } catch (err) {
            // A retriable failure that outlasted its retries while a dependency is down waits for it, then starts over.
            if (!isRetriable(err) || !(await this.waitForDependencies(topic, partition, message.offset, err))) throw err;
          }
        }
        const status = outcome?.status ?? 'success';
        metrics.messagesConsumed.inc({ topic, outcome: status });
        metrics.handlerDuration.observe({ topic, outcome: status }, (performance.now() - started) / 1000);
        if (outcome?.status === 'skipped') {
          logger.debug({ topic, partition, offset: message.offset, reason: outcome.reason }, 'record skipped');
        }
      } catch (err) {
        if (err instanceof AbandonedAtStop) throw err;
        const fields = {
          topic,
          partition,
          offset: message.offset,
          attempts,
          error_class: errorClass(err),
          error_code: errorCode(err),
          error: errorMessage(err),
        };
        if (topic.endsWith('.dlq')) {
          // A dead-letter topic has no DLQ of its own: the record stays in its DLQ (where it already is) and is skipped here.
          logger.error(fields, 'dead-letter record could not be handled; it stays in its DLQ');
          metrics.messagesConsumed.inc({ topic, outcome: 'failed' });
          return;
        }
        logger.warn(fields, 'record dead-lettered');
        await this.deadLetterRetry.execute(
          () =>
            deadLetters.send({
              topic,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: message.headers,
              error: err,
              attempts,
            }),
          this.stopController.signal,
        );
        metrics.messagesConsumed.inc({ topic, outcome: 'dlq' });
        metrics.handlerDuration.observe({ topic, outcome: 'dlq' }, (performance.now() - started) / 1000);
      }
    });
  }
}
