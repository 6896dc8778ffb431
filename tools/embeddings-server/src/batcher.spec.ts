import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatcherClosedError, EmbeddingBatcher, QueueFullError, type BatchResult } from './batcher.js';

/** A forward pass that encodes each text's length, records its batches, and finishes when released. */
function fakeForward() {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  let failNext: Error | undefined;
  const forward = (texts: readonly string[]): Promise<BatchResult> => {
    batches.push([...texts]);
    const error = failNext;
    failNext = undefined;
    return new Promise((resolve, reject) => {
      releases.push(() => (error ? reject(error) : resolve({ vectors: texts.map((t) => Float32Array.of(t.length)), tokens: texts.map((t) => t.length + 2) })));
    });
  };
  /** Releases the oldest pending pass and waits until the batcher has started the next one (or has none). */
  const release = async (): Promise<void> => {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { forward, batches, release, failOnce: (e: Error) => (failNext = e) };
}

const lengths = (r: BatchResult): number[] => r.vectors.map((v) => v[0]!);

describe('EmbeddingBatcher', () => {
  it('runs a lone request at once, then batches what queued meanwhile, in order', async () => {
    const f = fakeForward();
    const b = new EmbeddingBatcher(f.forward, { maxBatchSize: 8, maxQueuedTexts: 100 });
    const first = b.submit(['a']);
    assert.deepEqual(f.batches, [['a']], 'an idle batcher does not wait for company');
    const second = b.submit(['bb', 'ccc']);
    const third = b.submit(['dddd']);
    assert.equal(b.queuedTexts, 3);
    await f.release();
    assert.deepEqual(f.batches[1], ['bb', 'ccc', 'dddd'], 'texts queued during a pass share the next one');
    await f.release();
    assert.deepEqual(lengths(await first), [1]);
    assert.deepEqual(lengths(await second), [2, 3]);
    assert.deepEqual((await third).tokens, [6]);
    assert.equal(b.queuedTexts, 0);
  });

  it('splits a large request over passes of at most maxBatchSize and reassembles it', async () => {
    const f = fakeForward();
    const b = new EmbeddingBatcher(f.forward, { maxBatchSize: 3, maxQueuedTexts: 100 });
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'g'];
    const p = b.submit(texts);
    for (let i = 0; i < 3; i++) await f.release();
    assert.deepEqual(
      f.batches.map((x) => x.length),
      [3, 3, 1],
    );
    assert.deepEqual(lengths(await p), [1, 2, 3, 4, 5, 6, 1]);
  });

  it('refuses a request that would overflow the queue, without touching the others', async () => {
    const f = fakeForward();
    const b = new EmbeddingBatcher(f.forward, { maxBatchSize: 2, maxQueuedTexts: 3 });
    const running = b.submit(['a', 'b']); // taken by the first pass: not queued
    const queued = b.submit(['c', 'd', 'e']);
    await assert.rejects(b.submit(['f']), (e: unknown) => e instanceof QueueFullError && e.queued === 3 && e.limit === 3);
    for (let i = 0; i < 3; i++) await f.release();
    assert.deepEqual(lengths(await running), [1, 1]);
    assert.deepEqual(lengths(await queued), [1, 1, 1]);
  });

  it('fails only the requests in a failed pass', async () => {
    const f = fakeForward();
    const b = new EmbeddingBatcher(f.forward, { maxBatchSize: 2, maxQueuedTexts: 100 });
    f.failOnce(new Error('onnx exploded'));
    const doomed = b.submit(['a', 'b', 'c']); // its first pass fails: its second slice must not run
    const doomedRejects = assert.rejects(doomed, /onnx exploded/); // attached before the pass fails
    const fine = b.submit(['d']);
    await f.release();
    await doomedRejects;
    await f.release();
    assert.deepEqual(lengths(await fine), [1]);
    assert.deepEqual(f.batches, [['a', 'b'], ['d']]);
  });

  it('on close, answers the running pass, fails the queued requests, refuses new ones', async () => {
    const f = fakeForward();
    const b = new EmbeddingBatcher(f.forward, { maxBatchSize: 2, maxQueuedTexts: 100 });
    const inPass = b.submit(['a', 'b']);
    const waiting = b.submit(['c']);
    const waitingRejects = assert.rejects(waiting, (e: unknown) => e instanceof BatcherClosedError);
    const closing = b.close();
    await waitingRejects;
    await f.release();
    await closing;
    assert.deepEqual(lengths(await inPass), [1, 1]);
    await assert.rejects(b.submit(['d']), (e: unknown) => e instanceof BatcherClosedError);
    assert.equal(f.batches.length, 1);
  });

  it('rejects nonsensical limits', () => {
    const f = fakeForward();
    assert.throws(() => new EmbeddingBatcher(f.forward, { maxBatchSize: 0, maxQueuedTexts: 1 }), RangeError);
    assert.throws(() => new EmbeddingBatcher(f.forward, { maxBatchSize: 1, maxQueuedTexts: 0.5 }), RangeError);
  });
});
