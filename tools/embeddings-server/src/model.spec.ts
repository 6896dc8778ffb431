import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lengthGroups } from './model.js';

describe('lengthGroups', () => {
  it('groups texts of similar length and keeps long ones away from short ones', () => {
    assert.deepEqual(lengthGroups([10, 200, 12, 11, 210]), [
      [0, 3, 2],
      [1, 4],
    ]);
    assert.deepEqual(lengthGroups([]), []);
  });

  it('uses every index once and keeps padding within the bound (or a group of one)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 256 }), { maxLength: 64 }), (lengths) => {
        const groups = lengthGroups(lengths, 1.25);
        assert.deepEqual(
          groups.flat().sort((a, b) => a - b),
          lengths.map((_, i) => i),
        );
        for (const g of groups) {
          const ls = g.map((i) => lengths[i]!);
          const padded = Math.max(...ls) * ls.length;
          assert.ok(g.length === 1 || padded <= 1.25 * ls.reduce((a, b) => a + b, 0), `group ${JSON.stringify(ls)}`);
        }
      }),
    );
  });
});
