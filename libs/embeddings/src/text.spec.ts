import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmix32, fnv1a32, hashedBucket } from './hash.js';
import { normalizeText, tokenize } from './text.js';

describe('normalizeText / tokenize', () => {
  it('lower-cases, folds Latin diacritics and compatibility forms', () => {
    assert.equal(normalizeText('Café NAÏVE ﬁne ＡＢＣ'), 'cafe naive fine abc');
  });

  it('keeps marks that are part of non-Latin words', () => {
    assert.deepEqual(tokenize('हिन्दी भाषा'), ['हिन्दी', 'भाषा']);
  });

  it('splits on punctuation, drops stop words, possessives and inner apostrophes', () => {
    assert.deepEqual(tokenize("The Tesla's coil, isn't it? Don't panic: O'Neill-2024!"), ['tesla', 'coil', 'isnt', 'dont', 'panic', 'oneill', '2024']);
  });

  it('keeps stop words when asked', () => {
    assert.deepEqual(tokenize('The cat is on the mat', { removeStopWords: false }), ['the', 'cat', 'is', 'on', 'the', 'mat']);
  });

  it('drops absurdly long tokens', () => {
    assert.deepEqual(tokenize(`ok ${'x'.repeat(41)} fine`), ['ok', 'fine']);
  });
});

describe('fnv1a32 / fmix32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    // From the FNV test suite (http://www.isthe.com/chongo/tech/comp/fnv/, test_fnv.c).
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  it('fmix32 is the MurmurHash3 finaliser (0 is a fixed point, output is unsigned)', () => {
    assert.equal(fmix32(0), 0);
    const h = fmix32(0xdeadbeef);
    assert.ok(h >= 0 && h <= 0xffffffff && Number.isInteger(h));
  });

  it('buckets are in range and signs are balanced', () => {
    let plus = 0;
    for (let i = 0; i < 2000; i++) {
      const { index, sign } = hashedBucket(`feature-${i}`, 384);
      assert.ok(index >= 0 && index < 384);
      if (sign === 1) plus++;
    }
    assert.ok(plus > 900 && plus < 1100, `sign balance ${plus}/2000`);
  });
});
