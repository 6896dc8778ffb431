import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from './micro-batcher.js';

describe(MicroBatcher.name, () => {
  it('flushes at maxItems and resolves every add', async () => {
    const batches: number[][] = [];
    const sut = new MicroBatcher<number>(async (items) => void batches.push(items), 3, 10_000);
    await Promise.all([1, 2, 3].map((i) => sut.add(i)));
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('flushes a partial batch after maxWaitMs', async () => {
    const batches: number[][] = [];
    const sut = new MicroBatcher<number>(async (items) => void batches.push(items), 100, 5);
    await Promise.all([sut.add(1), sut.add(2)]);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('rejects every add of a failed batch', async () => {
    const sut = new MicroBatcher<number>(
      async () => {
        throw new Error('store down');
      },
      2,
      5,
    );
    const results = await Promise.allSettled([sut.add(1), sut.add(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });
});
