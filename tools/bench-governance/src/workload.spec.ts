import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SquadQuestion } from '@llmgov/demo';
import { buildWorkload, describeWorkload, rankOf, zipfCdf } from './workload.js';

const pool: SquadQuestion[] = Array.from({ length: 50 }, (_, i) => ({
  id: `q${i}`,
  tenantId: i % 2 === 0 ? 'tenant-a' : 'tenant-b',
  question: `Who wrote book number ${i}?`,
  goldDocumentId: `a${i}-p0`,
  answers: [`author ${i}`],
}));

describe('governance workload', () => {
  it('zipfCdf is increasing, ends at 1, and gives rank 1 the largest share (1 / H(n, s))', () => {
    const cdf = zipfCdf(10, 1);
    const h = Array.from({ length: 10 }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(cdf[0]! - 1 / h) < 1e-12);
    assert.ok(Math.abs(cdf[9]! - 1) < 1e-12);
    for (let i = 1; i < cdf.length; i++) assert.ok(cdf[i]! > cdf[i - 1]!);
    assert.throws(() => zipfCdf(0, 1), RangeError);
    assert.throws(() => zipfCdf(5, 0), RangeError);
    assert.throws(() => zipfCdf(5, Number.NaN), RangeError);
  });

  it('rankOf inverts the cdf at the edges', () => {
    const cdf = zipfCdf(4, 1);
    assert.equal(rankOf(cdf, 0), 1);
    assert.equal(rankOf(cdf, cdf[0]!), 1);
    assert.equal(rankOf(cdf, cdf[0]! + 1e-9), 2);
    assert.equal(rankOf(cdf, 0.999999999), 4);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const o = { requests: 200, zipfS: 0.9, rewordShare: 0.5, seed: 's1' };
    const a = buildWorkload(pool, o).map((r) => r.question.question);
    assert.deepEqual(
      buildWorkload(pool, o).map((r) => r.question.question),
      a,
    );
    assert.notDeepEqual(
      buildWorkload(pool, { ...o, seed: 's2' }).map((r) => r.question.question),
      a,
    );
  });

  it('is skewed: the most asked question gets far more than a uniform share, and the top-ranked more than the bottom half together', () => {
    const w = buildWorkload(pool, { requests: 5000, zipfS: 1, rewordShare: 0, seed: 'skew' });
    const byRank = new Map<number, number>();
    for (const r of w) byRank.set(r.rank, (byRank.get(r.rank) ?? 0) + 1);
    const top = byRank.get(1) ?? 0;
    assert.ok(top > 5 * (5000 / pool.length), `rank 1 asked ${top} times`);
    const bottomHalf = [...byRank].filter(([rank]) => rank > 25).reduce((s, [, n]) => s + n, 0);
    assert.ok(top > bottomHalf * 0.9, `rank 1 ${top}, ranks 26..50 ${bottomHalf}`);
  });

  it('asks each question first as itself; later asks are repeats or rewordings in about the share asked for', () => {
    const w = buildWorkload(pool, { requests: 2000, zipfS: 0.9, rewordShare: 0.5, seed: 'kinds' });
    const seen = new Set<string>();
    for (const r of w) {
      if (!seen.has(r.base.id)) {
        assert.equal(r.kind, 'original');
        assert.equal(r.question, r.base);
      } else assert.notEqual(r.kind, 'original');
      seen.add(r.base.id);
      if (r.kind === 'repeat') assert.equal(r.question.question, r.base.question);
      if (r.kind === 'reword') {
        assert.notEqual(r.question.question, r.base.question);
        assert.deepEqual(r.question.answers, r.base.answers);
        assert.ok(r.question.id.startsWith(`${r.base.id}~reword`));
      }
    }
    const d = describeWorkload(w);
    const later = d.by_kind.repeat + d.by_kind.reword;
    assert.equal(d.by_kind.original, d.distinct);
    assert.ok(Math.abs(d.by_kind.reword / later - 0.5) < 0.05, JSON.stringify(d.by_kind));
  });

  it('rewordShare 0 makes only verbatim repeats; 1 only rewordings', () => {
    assert.equal(describeWorkload(buildWorkload(pool, { requests: 300, zipfS: 1, rewordShare: 0, seed: 'x' })).by_kind.reword, 0);
    assert.equal(describeWorkload(buildWorkload(pool, { requests: 300, zipfS: 1, rewordShare: 1, seed: 'x' })).by_kind.repeat, 0);
  });

  it('refuses an empty pool and out-of-range options', () => {
    assert.throws(() => buildWorkload([], { requests: 1, zipfS: 1, rewordShare: 0, seed: 'x' }), /empty/);
    assert.throws(() => buildWorkload(pool, { requests: 0, zipfS: 1, rewordShare: 0, seed: 'x' }), /requests/);
    assert.throws(() => buildWorkload(pool, { requests: 1.5, zipfS: 1, rewordShare: 0, seed: 'x' }), /requests/);
    assert.throws(() => buildWorkload(pool, { requests: 1, zipfS: 1, rewordShare: 1.1, seed: 'x' }), /rewordShare/);
  });
});
