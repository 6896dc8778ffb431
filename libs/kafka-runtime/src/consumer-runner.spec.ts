import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import { KafkaConsumerRunner, type RecordHandler } from './consumer-runner.js';
import type { AvroSerde } from './serde.js';
import type { DeadLetterPublisher } from './dead-letter.js';

const TOPIC = 't';

/** A kafkajs consumer double: records commits and pauses, and lets the spec drive eachBatch itself. */
function fakeKafka() {
  const listeners = new Map<string, (e: { payload: unknown }) => void>();
  const state = {
    commits: [] as { topic: string; partition: number; offset: string }[][],
    paused: [] as string[],
    resumed: [] as string[],
    disconnected: false,
    eachBatch: undefined as ((p: EachBatchPayload) => Promise<void>) | undefined,
  };
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: (event: string, fn: (e: { payload: unknown }) => void) => listeners.set(event, fn),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      state.eachBatch = opts.eachBatch;
      listeners.get('join')?.({ payload: { memberAssignment: { [TOPIC]: [0] } } });
    },
    commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => void state.commits.push(offsets),
    pause: (ts: { topic: string }[]) => state.paused.push(...ts.map((t) => t.topic)),
    resume: (ts: { topic: string }[]) => state.resumed.push(...ts.map((t) => t.topic)),
    disconnect: async () => void (state.disconnected = true),
  };
  return { kafka: { consumer: () => consumer } as unknown as Kafka, state };
}

/** A handler whose records finish when the spec says so. */
function controlledHandler() {
  const finish = new Map<string, () => void>();
  const started: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const handler: RecordHandler = (_value, ctx) => {
    started.push(ctx.offset);
    for (const w of waiters.filter((w) => started.length >= w.n)) w.resolve();
    return new Promise((resolve) => finish.set(ctx.offset, () => resolve(undefined)));
  };
  /** Resolves once `n` records have started. */
  const startedCount = (n: number) => (started.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));
  return { handler, started, startedCount, finish: (o: string) => finish.get(o)!() };
}

const message = (offset: number, key: string | null = null): KafkaMessage =>
  ({
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from([0]),
    headers: {},
    timestamp: '0',
    attributes: 0,
  }) as KafkaMessage;

/** A batch of partition 0 of TOPIC; `keys[i]` is the key of the i-th record (null when absent). */
function batch(offsets: number[], resolved: string[], keys: (string | null)[] = []): EachBatchPayload {
  return {
    batch: { topic: TOPIC, partition: 0, messages: offsets.map((o, i) => message(o, keys[i] ?? null)), offsetLag: () => '0' },
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    resolveOffset: (o: string) => void resolved.push(o),
  } as unknown as EachBatchPayload;
}

async function runner(handler: RecordHandler, maxInFlight: number, extra: Partial<ConstructorParameters<typeof KafkaConsumerRunner>[0]> = {}) {
  const { kafka, state } = fakeKafka();
  const sut = new KafkaConsumerRunner({
    kafka,
    groupId: 'g',
    serviceName: 's',
    handlers: new Map([[TOPIC, handler]]),
    serde: { decode: async () => ({}) } as unknown as AvroSerde,
    deadLetters: { send: async () => undefined } as unknown as DeadLetterPublisher,
    metrics: new PlatformMetrics('spec'),
    logger: createLogger('spec', 'silent'),
    retry: { initialMs: 1, maxMs: 1, maxAttempts: 1 },
    maxInFlight,
    partitionsConsumedConcurrently: 1,
    fromBeginning: true,
    commitIntervalMs: 60_000, // the spec commits explicitly with commitCompleted()
    ...extra,
  });
  await sut.start();
  return { sut, state, eachBatch: state.eachBatch! };
}

/** Resolves once the runner has `n` records in flight (finished records free their slot after their completion is tracked). */
const inFlightIs = (sut: KafkaConsumerRunner, n: number) =>
  new Promise<void>((resolve) => {
    const check = (): void => (sut.inFlight === n ? resolve() : void setImmediate(check));
    check();
  });

describe(KafkaConsumerRunner.name, () => {
  it('records a pause asked for while it starts (before consumer.run, which kafkajs refuses) and applies it after run', async () => {
    const { kafka, state } = fakeKafka();
    const consumer = kafka.consumer({ groupId: 'g' }) as unknown as Record<string, unknown>;
    let ran = false;
    let subscribed: () => void = () => undefined;
    const subscribing = new Promise<void>((resolve) => (subscribed = resolve));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const run = consumer.run as (o: unknown) => Promise<void>;
    const pause = consumer.pause as (ts: { topic: string }[]) => void;
    consumer.subscribe = async () => {
      subscribed();
      await held;
    };
    consumer.run = async (o: unknown) => {
      ran = true;
      await run(o);
    };
    consumer.pause = (ts: { topic: string }[]) => {
      if (!ran) throw new Error('Consumer group was not initialized, consumer#run must be called first');
      pause(ts);
    };
    const sut = new KafkaConsumerRunner({
      kafka: { consumer: () => consumer } as unknown as Kafka,
      groupId: 'g',
      serviceName: 's',
      handlers: new Map([[TOPIC, controlledHandler().handler]]),
      serde: { decode: async () => ({}) } as unknown as AvroSerde,
      deadLetters: { send: async () => undefined } as unknown as DeadLetterPublisher,
      metrics: new PlatformMetrics('spec'),
      logger: createLogger('spec', 'silent'),
      retry: { initialMs: 1, maxMs: 1, maxAttempts: 1 },
      maxInFlight: 1,
      partitionsConsumedConcurrently: 1,
      fromBeginning: true,
      commitIntervalMs: 60_000,
    });
    const started = sut.start();
    await subscribing;
    assert.doesNotThrow(() => sut.pause([TOPIC]));
    assert.deepEqual(state.paused, [], 'nothing reaches kafkajs before run');
    release();
    await started;
    assert.deepEqual(state.paused, [TOPIC], 'the pause is applied once the consumer runs');
    assert.deepEqual(sut.paused, [TOPIC]);
    await sut.stop();
  });

  it('commits only the contiguous completed prefix when records finish out of order', async () => {
    const h = controlledHandler();
    const { sut, state, eachBatch } = await runner(h.handler, 10);
    const resolved: string[] = [];
    await eachBatch(batch([0, 1, 2, 3], resolved));
    await h.startedCount(4);
    assert.deepEqual(h.started, ['0', '1', '2', '3'], 'all dispatched without waiting for each other');
    h.finish('2');
    h.finish('3');
    await inFlightIs(sut, 2);
    await sut.commitCompleted();
    assert.deepEqual(state.commits, [], '0 and 1 still running');
    h.finish('0');
    await inFlightIs(sut, 1);
    await sut.commitCompleted();
    assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '1' }]);
    h.finish('1');
    await inFlightIs(sut, 0);
    await sut.commitCompleted();
    assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '4' }], 'next offset after 3');
  });

  it('dispatches at most maxInFlight records and takes the next one as a slot frees', async () => {
    const h = controlledHandler();
    const { sut, eachBatch } = await runner(h.handler, 2);
    const resolved: string[] = [];
    const dispatching = eachBatch(batch([0, 1, 2], resolved));
    await h.startedCount(2);
    assert.deepEqual(h.started, ['0', '1']);
    assert.deepEqual(resolved, ['0', '1'], 'offset 2 not resolved, so not fetched past');
    assert.equal(sut.inFlight, 2);
    h.finish('1');
    await dispatching;
    await h.startedCount(3);
    assert.deepEqual(h.started, ['0', '1', '2']);
    assert.deepEqual(resolved, ['0', '1', '2']);
  });

  it('stops dispatching a paused topic and leaves the rest of the batch unresolved for refetch', async () => {
    const h = controlledHandler();
    const { sut, state, eachBatch } = await runner(h.handler, 1);
    const resolved: string[] = [];
    const dispatching = eachBatch(batch([0, 1, 2], resolved));
    await h.startedCount(1);
    sut.pause([TOPIC]);
    h.finish('0');
    await dispatching;
    assert.deepEqual(h.started, ['0']);
    assert.deepEqual(resolved, ['0']);
    assert.deepEqual(state.paused, [TOPIC]);
    assert.deepEqual(sut.paused, [TOPIC]);
  });

  it('does not begin a record twice when a rebalance redelivers it while it runs', async () => {
    const h = controlledHandler();
    const { eachBatch } = await runner(h.handler, 10);
    const resolved: string[] = [];
    await eachBatch(batch([0, 1], resolved));
    await eachBatch(batch([0, 1, 2], resolved)); // refetched from the committed offset
    await h.startedCount(3);
    assert.deepEqual(h.started, ['0', '1', '2'], '0 and 1 not begun again');
    assert.deepEqual(resolved, ['0', '1', '0', '1', '2']);
  });

  describe('dependencies down', () => {
    /** A dependency probe the spec switches, and a DLQ double that records what it was sent. */
    function setup() {
      const deps = { missing: [] as string[] };
      const dlq: string[] = [];
      const calls: string[] = [];
      let failing = true;
      const handler: RecordHandler = async (_v, ctx) => {
        calls.push(ctx.offset);
        if (failing) throw Object.assign(new Error('redis: Connection is closed.'), { retriable: true });
      };
      const extra = {
        dependencyProbe: async () => deps.missing,
        dependencyCheckIntervalMs: 60_000, // probed on demand by the failing record; the spec flips the probe itself
        retry: { initialMs: 1, maxMs: 1, maxAttempts: 2 },
        deadLetters: { send: async (d: { offset: string }) => void dlq.push(d.offset) } as unknown as DeadLetterPublisher,
      };
      return { deps, dlq, calls, handler, extra, heal: () => (failing = false) };
    }

    it('a retriable failure while a dependency is down suspends fetching, waits, and is retried instead of dead-lettered', async () => {
      const t = setup();
      const { sut, state, eachBatch } = await runner(t.handler, 4, t.extra);
      t.deps.missing = ['redis'];
      await eachBatch(batch([0], []));
      await new Promise<void>((resolve) => {
        const check = (): void => (sut.missingDependencies.length === 1 ? resolve() : void setImmediate(check));
        check();
      });
      assert.deepEqual(sut.missingDependencies, ['redis']);
      assert.ok(state.paused.includes(TOPIC), 'fetching stopped');
      assert.equal(t.calls.length, 2, 'its retries ran first');
      const resolved: string[] = [];
      await eachBatch(batch([1], resolved));
      assert.deepEqual(resolved, [], 'no new record is dispatched while suspended');
      // Redis comes back: the probe says so, the record is retried and succeeds.
      t.heal();
      t.deps.missing = [];
      (sut as unknown as { setDependenciesDown(m: string[]): void }).setDependenciesDown([]);
      await inFlightIs(sut, 0);
      assert.deepEqual(t.dlq, [], 'nothing dead-lettered');
      assert.equal(t.calls.at(-1), '0');
      assert.ok(state.resumed.includes(TOPIC), 'fetching resumed');
      await sut.commitCompleted();
      assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '1' }]);
    });

    it('a retriable failure with every dependency up is dead-lettered after its attempts', async () => {
      const t = setup();
      const { sut, eachBatch } = await runner(t.handler, 4, t.extra);
      await eachBatch(batch([0], []));
      await inFlightIs(sut, 0);
      assert.deepEqual(t.dlq, ['0']);
      assert.equal(t.calls.length, 2);
    });

    it('stopping while a record waits leaves it uncommitted and out of the DLQ (redelivered later)', async () => {
      const t = setup();
      const { sut, state, eachBatch } = await runner(t.handler, 4, t.extra);
      t.deps.missing = ['postgres'];
      await eachBatch(batch([0], []));
      await new Promise<void>((resolve) => {
        const check = (): void => (sut.missingDependencies.length === 1 ? resolve() : void setImmediate(check));
        check();
      });
      await sut.stop();
      assert.deepEqual(t.dlq, []);
      assert.deepEqual(state.commits, []);
    });

    it('a record still in its retries when stop comes during an outage is left uncommitted, not dead-lettered', async () => {
      const t = setup();
      let stopping: Promise<void> | undefined;
      const ref: { sut?: KafkaConsumerRunner } = {};
      const handler: RecordHandler = async (v, ctx) => {
        if (ctx.attempt === 1) {
          // Postgres goes down and the process is told to stop while this record is between its attempts.
          (ref.sut as unknown as { setDependenciesDown(m: string[]): void }).setDependenciesDown(['postgres']);
          stopping = ref.sut!.stop();
        }
        return t.handler(v, ctx);
      };
      const { sut, state, eachBatch } = await runner(handler, 4, t.extra);
      ref.sut = sut;
      await eachBatch(batch([0], []));
      await inFlightIs(sut, 0);
      await stopping;
      assert.equal(t.calls.length, 2, 'its retries ran');
      assert.deepEqual(t.dlq, [], 'a dependency outage is not the record’s fault');
      assert.deepEqual(state.commits, []);
    });

    it('a record of a dead-letter topic that fails is not dead-lettered again', async () => {
      const dlq: string[] = [];
      const failing: RecordHandler = async () => Promise.reject(new Error('bad'));
      const { sut, eachBatch } = await runner(failing, 1, {
        handlers: new Map([[TOPIC, failing]]),
        deadLetters: { send: async (d: { offset: string }) => void dlq.push(d.offset) } as unknown as DeadLetterPublisher,
      });
      // The same runner, told its topic is a DLQ: the failure is logged and the record is not sent anywhere.
      (sut as unknown as { opts: { handlers: Map<string, RecordHandler> } }).opts.handlers = new Map([[`${TOPIC}.dlq`, failing]]);
      const p = batch([0], []);
      (p.batch as { topic: string }).topic = `${TOPIC}.dlq`;
      await eachBatch(p);
      await inFlightIs(sut, 0);
      assert.deepEqual(dlq, []);
    });
  });

  describe('retry and dead-lettering', () => {
    /** A DLQ double recording each write (offset, attempts, error code); `failures` writes fail before one lands. */
    function dlqDouble(failures = 0) {
      const writes: { offset: string; attempts: number; code: unknown; ok: boolean }[] = [];
      let left = failures;
      const send = async (d: { offset: string; attempts: number; error: unknown }) => {
        const ok = left-- <= 0;
        writes.push({ offset: d.offset, attempts: d.attempts, code: (d.error as { code?: unknown }).code, ok });
        if (!ok) throw Object.assign(new Error('broker down'), { retriable: true });
      };
      return { deadLetters: { send } as unknown as DeadLetterPublisher, writes };
    }

    afterEach(() => mock.timers.reset());

    it('retries a retriable failure up to retry.maxAttempts, then dead-letters it with the attempt count and commits past it', async () => {
      const attempts: number[] = [];
      const handler: RecordHandler = async (_v, ctx) => {
        attempts.push(ctx.attempt);
        throw Object.assign(new Error('timeout'), { retriable: true, code: 'retriable' });
      };
      const dlq = dlqDouble();
      const { sut, state, eachBatch } = await runner(handler, 4, { retry: { initialMs: 1, maxMs: 1, maxAttempts: 3 }, deadLetters: dlq.deadLetters });
      await eachBatch(batch([0], []));
      await inFlightIs(sut, 0);
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(dlq.writes, [{ offset: '0', attempts: 3, code: 'retriable', ok: true }]);
      await sut.commitCompleted();
      assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '1' }]);
    });

    it('a tombstone (null value) reaches the handler as null on a tombstones topic, and is dead-lettered elsewhere', async () => {
      const seen: unknown[] = [];
      const handler: RecordHandler = async (value, ctx) => void seen.push([value, ctx.key]);
      const decode = async (bytes: Buffer | null) => {
        if (!bytes) throw Object.assign(new Error('record value is empty'), { code: 'undecodable' });
        return { decoded: true };
      };
      const tombstone = (p: EachBatchPayload) => {
        (p.batch.messages[0] as { value: Buffer | null }).value = null;
        return p;
      };
      const dlq = dlqDouble();
      const on = await runner(handler, 1, { serde: { decode } as unknown as AvroSerde, tombstoneTopics: new Set([TOPIC]), deadLetters: dlq.deadLetters });
      await on.eachBatch(tombstone(batch([0], [], ['tenant-a/doc-1'])));
      await on.eachBatch(batch([1], [], ['tenant-a/doc-2']));
      await inFlightIs(on.sut, 0);
      assert.deepEqual(seen, [
        [null, 'tenant-a/doc-1'],
        [{ decoded: true }, 'tenant-a/doc-2'],
      ]);
      assert.equal(dlq.writes.length, 0, 'nothing dead-lettered');

      const off = await runner(handler, 1, { serde: { decode } as unknown as AvroSerde, deadLetters: dlq.deadLetters });
      await off.eachBatch(tombstone(batch([2], [], ['tenant-a/doc-3'])));
      await inFlightIs(off.sut, 0);
      assert.equal(seen.length, 2, 'not handled');
      assert.deepEqual(
        dlq.writes.map((w) => w.offset),
        ['2'],
      );
    });

    it('dead-letters a non-retriable failure at once (attempts 1)', async () => {
      let calls = 0;
      const handler: RecordHandler = async () => {
        calls++;
        throw new Error('bad record');
      };
      const dlq = dlqDouble();
      const { sut, eachBatch } = await runner(handler, 4, { retry: { initialMs: 1, maxMs: 1, maxAttempts: 5 }, deadLetters: dlq.deadLetters });
      await eachBatch(batch([0], []));
      await inFlightIs(sut, 0);
      assert.equal(calls, 1);
      assert.deepEqual(
        dlq.writes.map((w) => [w.offset, w.attempts]),
        [['0', 1]],
      );
    });

    it('retries a failing DLQ write until it lands, and commits the offset only after', async () => {
      mock.timers.enable({ apis: ['setTimeout'] });
      const dlq = dlqDouble(3);
      const failing: RecordHandler = async () => Promise.reject(new Error('bad record'));
      const { sut, state, eachBatch } = await runner(failing, 4, { deadLetters: dlq.deadLetters });
      await eachBatch(batch([0], []));
      // Each failed write is followed by a backoff timer (cockatiel); advance mocked time until the write lands.
      for (let round = 0; !dlq.writes.some((w) => w.ok); round++) {
        assert.ok(round < 100, `the DLQ write never landed: ${JSON.stringify(dlq.writes)}`);
        await new Promise<void>((resolve) => setImmediate(resolve));
        const failedSoFar = dlq.writes.length;
        if (failedSoFar > 0 && !dlq.writes.at(-1)!.ok) {
          await sut.commitCompleted();
          assert.deepEqual(state.commits, [], `nothing committed after ${failedSoFar} failed DLQ write(s)`);
        }
        mock.timers.tick(10_000);
      }
      await inFlightIs(sut, 0);
      assert.deepEqual(
        dlq.writes.map((w) => w.ok),
        [false, false, false, true],
      );
      await sut.commitCompleted();
      assert.deepEqual(state.commits, [[{ topic: TOPIC, partition: 0, offset: '1' }]]);
    });
  });

  describe('per-key ordering', () => {
    it('runs records with the same key one after another and records with different keys side by side', async () => {
      const h = controlledHandler();
      const { sut, state, eachBatch } = await runner(h.handler, 10);
      await eachBatch(batch([0, 1, 2, 3], [], ['a', 'a', 'b', 'a']));
      await h.startedCount(2);
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.deepEqual(h.started, ['0', '2'], 'only the first record of key a, and key b beside it');
      h.finish('2');
      await inFlightIs(sut, 3);
      assert.deepEqual(h.started, ['0', '2'], 'key b finishing does not release key a');
      h.finish('0');
      await h.startedCount(3);
      assert.deepEqual(h.started, ['0', '2', '1']);
      h.finish('1');
      await h.startedCount(4);
      assert.deepEqual(h.started, ['0', '2', '1', '3']);
      h.finish('3');
      await inFlightIs(sut, 0);
      await sut.commitCompleted();
      assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '4' }]);
    });
  });

  describe('drain on stop', () => {
    it('stops fetching, lets records in flight finish, commits them, then disconnects', async () => {
      const h = controlledHandler();
      const { sut, state, eachBatch } = await runner(h.handler, 10, { drainTimeoutMs: 60_000 });
      await eachBatch(batch([0, 1], []));
      await h.startedCount(2);
      let stopped = false;
      const stopping = sut.stop().then(() => (stopped = true));
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.ok(state.paused.includes(TOPIC), 'fetching stopped');
      const resolved: string[] = [];
      await eachBatch(batch([2], resolved));
      assert.deepEqual(resolved, [], 'nothing new is dispatched while draining');
      assert.equal(stopped, false, 'waits for the records in flight');
      assert.equal(state.disconnected, false);
      h.finish('1');
      h.finish('0');
      await stopping;
      assert.deepEqual(h.started, ['0', '1']);
      assert.deepEqual(state.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '2' }]);
      assert.equal(state.disconnected, true);
    });

    it('leaves records still running at the drain deadline uncommitted (redelivered to the group)', async () => {
      const h = controlledHandler();
      const { sut, state, eachBatch } = await runner(h.handler, 10, { drainTimeoutMs: 5 });
      await eachBatch(batch([0, 1, 2], []));
      await h.startedCount(3);
      h.finish('0');
      h.finish('2');
      await inFlightIs(sut, 1);
      await sut.stop(); // resolves after drainTimeoutMs with offset 1 still running
      assert.deepEqual(state.commits, [[{ topic: TOPIC, partition: 0, offset: '1' }]], 'only up to the record still running');
      assert.equal(state.disconnected, true);
      h.finish('1');
      await inFlightIs(sut, 0);
      await sut.commitCompleted();
      assert.equal(state.commits.length, 1, 'a record finishing after stop is not committed');
    });
  });
});
