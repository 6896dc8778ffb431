import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goldRank, percentile, ScoreAccumulator } from './metrics.js';

describe('goldRank', () => {
  it('ranks the gold paragraph among distinct paragraphs in chunk order', () => {
    assert.equal(goldRank(['p1', 'p1', 'p3', 'p2'], 'p2'), 3);
    assert.equal(goldRank(['p2', 'p1'], 'p2'), 1);
    assert.equal(goldRank(['p1', 'p3'], 'p2'), 0);
    assert.equal(goldRank([], 'p2'), 0);
  });

  it('is never worse than the chunk rank and equals it when chunks are distinct paragraphs', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e'), { maxLength: 12 }), fc.constantFrom<string>('a', 'b', 'z'), (ids, gold) => {
        const rank = goldRank(ids, gold);
        const chunkRank = ids.indexOf(gold) + 1;
        assert.equal(rank === 0, chunkRank === 0);
        assert.ok(rank <= chunkRank);
        if (new Set(ids).size === ids.length) assert.equal(rank, chunkRank);
      }),
    );
  });
});

describe(ScoreAccumulator.name, () => {
  it('computes recall@1/5/10, MRR@10 and recall over the first 5 chunks', () => {
    const acc = new ScoreAccumulator();
    acc.add(['g'], 'g'); // rank 1
    acc.add(['x', 'x', 'x', 'x', 'x', 'y', 'g'], 'g'); // paragraph rank 3, chunk rank 7
    acc.add(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'g'); // rank 7
    acc.add(['a', 'b', 'c', 'd', 'e', 'f', 'h', 'i', 'j', 'k', 'g'], 'g'); // 11th chunk: outside the top 10
    const s = acc.scores();
    assert.equal(s.questions, 4);
    assert.equal(s.recallAt1, 1 / 4);
    assert.equal(s.recallAt5, 2 / 4);
    assert.equal(s.recallAt10, 3 / 4);
    assert.equal(s.recallAt5Chunks, 1 / 4);
    assert.ok(Math.abs(s.mrrAt10 - (1 + 1 / 3 + 1 / 7) / 4) < 1e-12);
  });

  it('reports zeros, not NaN, before any question', () => {
    assert.deepEqual(new ScoreAccumulator().scores(), { questions: 0, recallAt1: 0, recallAt5: 0, recallAt10: 0, mrrAt10: 0, recallAt5Chunks: 0 });
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    assert.equal(percentile([4, 1, 3, 2], 50), 2);
    assert.equal(percentile([4, 1, 3, 2], 100), 4);
    assert.equal(
      percentile(
        Array.from({ length: 20 }, (_, i) => i + 1),
        95,
      ),
      19,
    );
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 0), RangeError);
  });
});
