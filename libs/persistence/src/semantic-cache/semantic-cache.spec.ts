import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScopeCopy, encodeVectorBlob, parseThreshold, semanticScopeKey, unitFloat32, vectorFromBase64, vectorToBase64 } from './semantic-cache.js';

const NOW = 1_800_000_000_000;
const at = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180), 0];

describe('ScopeCopy: the in-process nearest-neighbour scan', () => {
  const copyOf = (rows: [string, number, number][]) => {
    const c = new ScopeCopy();
    c.reset('e1');
    for (const [id, deg, expires] of rows) c.put(id, encodeVectorBlob(expires, unitFloat32(at(deg))));
    return c;
  };

  it('returns the rows at or above the threshold best first, and the best similarity of any live row', () => {
    const c = copyOf([
      ['a', 0, NOW + 1000],
      ['b', 10, NOW + 1000],
      ['c', 40, NOW + 1000],
    ]);
    const r = c.nearest(unitFloat32(at(3)), 0.95, NOW);
    assert.deepEqual(
      r.candidates.map((x) => x.id),
      ['a', 'b'],
    );
    assert.ok(Math.abs(r.best! - Math.cos((3 * Math.PI) / 180)) < 1e-6);
    assert.equal(r.scanned, 3);
    // At 25°, b and c are both 15° away (cosine 0.966): nothing reaches 0.97.
    const none = c.nearest(unitFloat32(at(25)), 0.97, NOW);
    assert.deepEqual(none.candidates, []);
    assert.ok(Math.abs(none.best! - Math.cos((15 * Math.PI) / 180)) < 1e-6);
  });

  it('skips expired rows, replaces a row put again, and ignores vectors of another length', () => {
    const c = copyOf([
      ['a', 0, NOW - 1],
      ['b', 90, NOW + 1000],
    ]);
    assert.deepEqual(c.nearest(unitFloat32(at(0)), 0.9, NOW).candidates, [], 'a expired');
    c.put('b', encodeVectorBlob(NOW + 1000, unitFloat32(at(0))));
    assert.equal(c.count, 2);
    assert.deepEqual(
      c.nearest(unitFloat32(at(0)), 0.9, NOW).candidates.map((x) => x.id),
      ['b'],
    );
    c.put('x', encodeVectorBlob(NOW + 1000, unitFloat32([1, 0, 0, 0])));
    assert.equal(c.count, 2);
    assert.deepEqual(c.nearest(unitFloat32([1, 0, 0, 0]), 0.5, NOW), { best: null, candidates: [], scanned: 0 });
  });

  it('finds the same nearest row as a plain cosine over any vectors (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
        (rows, q) => {
          const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
          const live = rows.filter((r) => norm(r) > 1e-3);
          if (live.length === 0 || norm(q) < 1e-3) return;
          const c = new ScopeCopy();
          c.reset('e');
          live.forEach((r, i) => c.put(`r${i}`, encodeVectorBlob(NOW + 1, unitFloat32(r))));
          const cos = live.map((r) => r.reduce((s, x, i) => s + x * q[i]!, 0) / (norm(r) * norm(q)));
          const best = Math.max(...cos);
          const got = c.nearest(unitFloat32(q), -2, NOW);
          assert.ok(Math.abs(got.best! - best) < 1e-5);
          assert.ok(Math.abs(got.candidates[0]!.similarity - best) < 1e-5);
        },
      ),
    );
  });
});

describe('semantic cache helpers', () => {
  it('keys a scope by route, system prompt, RAG, templates, index version and models', () => {
    const base = { route: 'squad-qa', systemPrompt: null, rag: true, tierTemplates: 'S=a@1', indexVersion: 'chunks_x_384_v1', modelGeneration: 'S=s,M=m' };
    const key = semanticScopeKey(base);
    assert.match(key, /^[0-9a-f]{32}$/);
    for (const change of [
      { route: 'support-faq' },
      { systemPrompt: 'Be brief.' },
      { rag: false },
      { tierTemplates: 'S=a@2' },
      { indexVersion: 'chunks_y_384_v1' },
      { modelGeneration: 'S=s2,M=m' },
    ])
      assert.notEqual(semanticScopeKey({ ...base, ...change }), key, JSON.stringify(change));
  });

  it('normalises vectors and refuses zero or non-finite ones', () => {
    const u = unitFloat32([3, 4]);
    assert.ok(Math.abs(u[0]! - 0.6) < 1e-7 && Math.abs(u[1]! - 0.8) < 1e-7);
    assert.throws(() => unitFloat32([0, 0]), /zero vector/);
    assert.throws(() => unitFloat32([1, Number.POSITIVE_INFINITY]), /non-finite/);
    assert.throws(() => unitFloat32([]), /empty/);
    assert.deepEqual(Array.from(vectorFromBase64(vectorToBase64([0.5, -2, 8]))), [0.5, -2, 8]);
    assert.throws(() => vectorFromBase64('AAA='), /float32/);
  });

  it('reads a stored threshold, and treats an unreadable or out-of-range one as absent', () => {
    const t = { threshold: 0.93, embedding_space: 's', target: 0.02 };
    assert.equal(parseThreshold(JSON.stringify(t))?.threshold, 0.93);
    assert.equal(parseThreshold('not json'), undefined);
    assert.equal(parseThreshold(JSON.stringify({ ...t, threshold: 3 })), undefined);
    assert.equal(parseThreshold(null), undefined);
  });
});
