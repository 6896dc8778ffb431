import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickQuestions } from './dataset.js';

const squad = {
  data: [0, 1].map((a) => ({
    title: `t${a}`,
    paragraphs: [0, 1, 2].map((p) => ({
      context: `paragraph ${a}-${p}`,
      qas: [0, 1, 2, 3].map((q) => ({ id: `q${a}${p}${q}`, question: `question ${a}${p}${q}?`, answers: [{ text: `ans ${q}` }] })),
    })),
  })),
};

describe('pickQuestions', () => {
  it('spreads n questions over the file, alternating tiers, deterministically', () => {
    const a = pickQuestions(squad, 6, 30);
    assert.equal(a.length, 6);
    assert.deepEqual(
      a.map((q) => q.tier),
      ['S', 'M', 'S', 'M', 'S', 'M'],
    );
    assert.equal(new Set(a.map((q) => q.id)).size, 6);
    assert.deepEqual(pickQuestions(squad, 6, 30), a);
  });

  it('gives the own paragraph as gold context, another paragraph of the same article otherwise', () => {
    const all = pickQuestions(squad, 24, 50);
    for (const q of all) {
      const [a, p] = [q.id[1], q.id[2]];
      if (q.context_kind === 'gold') assert.equal(q.context, `paragraph ${a}-${p}`);
      else assert.equal(q.context, `paragraph ${a}-${(Number(p) + 1) % 3}`);
    }
    assert.ok(all.some((q) => q.context_kind === 'other') && all.some((q) => q.context_kind === 'gold'));
    assert.ok(pickQuestions(squad, 24, 0).every((q) => q.context_kind === 'gold'));
  });
});
