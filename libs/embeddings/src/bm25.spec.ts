import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bm25SparseEncoder } from './bm25.js';

describe(Bm25SparseEncoder.name, () => {
  const enc = new Bm25SparseEncoder({ avgDocLength: 4 });

  it('produces unique, strictly ascending indices inside 2^20 with parallel values', () => {
    const v = enc.encode('Apple banana apple cherry. The apple!');
    assert.equal(v.indices.length, v.values.length);
    assert.equal(v.indices.length, 3); // apple, banana, cherry (the = stop word)
    for (let i = 0; i < v.indices.length; i++) {
      assert.ok(Number.isInteger(v.indices[i]) && v.indices[i]! >= 0 && v.indices[i]! < 2 ** 20);
      if (i > 0) assert.ok(v.indices[i]! > v.indices[i - 1]!);
    }
  });

  it('computes the BM25 tf saturation tf·(k1+1)/(tf + k1·(1−b+b·len/avgLen))', () => {
    // tokens: apple banana apple cherry apple → len 5, avgLen 4
    const v = enc.encode('apple banana apple cherry apple');
    const norm = 1.2 * (1 - 0.75 + (0.75 * 5) / 4);
    const expect = (tf: number): number => (tf * 2.2) / (tf + norm);
    const apple = v.values[v.indices.indexOf(enc.termIndex('apple'))]!;
    const banana = v.values[v.indices.indexOf(enc.termIndex('banana'))]!;
    assert.ok(Math.abs(apple - expect(3)) < 1e-12);
    assert.ok(Math.abs(banana - expect(1)) < 1e-12);
    assert.ok(apple < 2.2, 'saturates below k1 + 1');
  });

  it('penalises long documents relative to short ones for the same tf', () => {
    const short = enc.encode('tesla coil');
    const long = enc.encode('tesla coil ' + 'filler '.repeat(20));
    const i = enc.termIndex('tesla');
    assert.ok(short.values[short.indices.indexOf(i)]! > long.values[long.indices.indexOf(i)]!);
  });

  it('encodes queries as 1 per distinct term and shares the tokenizer', () => {
    const q = enc.encodeQuery('Who invented the Tesla coil? Tesla!');
    assert.deepEqual(q.values, [1, 1, 1]);
    assert.deepEqual(
      q.indices,
      ['invented', 'tesla', 'coil'].map((t) => enc.termIndex(t)).sort((a, b) => a - b),
    );
  });

  it('is deterministic and handles empty text', () => {
    // Pinned: these indices are stored in Qdrant; a change needs a re-index.
    assert.deepEqual(new Bm25SparseEncoder().encodeQuery('Tesla coil'), { indices: [524482, 807938], values: [1, 1] });
    assert.deepEqual(new Bm25SparseEncoder().encode('Zürich café'), new Bm25SparseEncoder().encode('zurich CAFE'));
    assert.deepEqual(enc.encode('the of and'), { indices: [], values: [] });
  });

  it('validates its parameters', () => {
    assert.throws(() => new Bm25SparseEncoder({ b: 2 }), RangeError);
    assert.throws(() => new Bm25SparseEncoder({ avgDocLength: 0 }), RangeError);
  });
});
