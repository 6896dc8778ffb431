import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reciprocalRankFusion, RRF_K } from './rrf.js';

const id = (s: string): string => s;

describe(reciprocalRankFusion.name, () => {
  it('sums 1/(k + rank) over lists with k = 60 and 1-based ranks', () => {
    const fused = reciprocalRankFusion(
      [
        ['a', 'b', 'c'],
        ['c', 'a'],
      ],
      id,
    );
    const score = Object.fromEntries(fused.map((f) => [f.item, f.score]));
    assert.equal(RRF_K, 60);
    assert.ok(Math.abs(score['a']! - (1 / 61 + 1 / 62)) < 1e-15);
    assert.ok(Math.abs(score['c']! - (1 / 63 + 1 / 61)) < 1e-15);
    assert.ok(Math.abs(score['b']! - 1 / 62) < 1e-15);
    assert.deepEqual(
      fused.map((f) => f.item),
      ['a', 'c', 'b'],
    );
  });

  it('rewards agreement: an item second in both lists beats one first in a single list', () => {
    const fused = reciprocalRankFusion(
      [
        ['x', 'both'],
        ['y', 'both'],
      ],
      id,
    );
    assert.equal(fused[0]!.item, 'both');
  });

  it('breaks ties deterministically and counts a duplicate once per list', () => {
    const fused = reciprocalRankFusion(
      [
        ['p', 'q', 'p'],
        ['q', 'p'],
      ],
      id,
    );
    assert.deepEqual(
      fused.map((f) => f.item),
      ['p', 'q'],
    ); // equal scores: p appeared first
    assert.ok(Math.abs(fused[0]!.score - (1 / 61 + 1 / 62)) < 1e-15);
  });

  it('supports weights, empty lists and custom k', () => {
    assert.deepEqual(reciprocalRankFusion([[], []], id), []);
    const weighted = reciprocalRankFusion([['a'], ['b']], id, 60, [0.5, 1]);
    assert.deepEqual(
      weighted.map((f) => f.item),
      ['b', 'a'],
    );
    assert.ok(Math.abs(reciprocalRankFusion([['a']], id, 0)[0]!.score - 1) < 1e-15);
    assert.throws(() => reciprocalRankFusion([['a']], id, 60, [1, 2]), RangeError);
  });
});
