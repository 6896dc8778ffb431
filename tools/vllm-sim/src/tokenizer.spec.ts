import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from './tokenizer.js';

describe('tokenizer', () => {
  it('counts real BPE tokens (cl100k_base and o200k_base)', async () => {
    const cl = await loadTokenizer('cl100k_base');
    const o2 = await loadTokenizer('o200k_base');
    assert.equal(cl.count('hello world'), 2);
    assert.equal(o2.count('hello world'), 2);
    assert.ok(o2.vocabSize > cl.vocabSize);
  });

  it('encodes special-token strings in user text as plain text', async () => {
    const cl = await loadTokenizer('cl100k_base');
    assert.ok(cl.count('<|endoftext|><|im_start|>') > 2);
  });

  it('counts pathological runs that make BPE quadratic without hanging (runs are split before BPE; speed is not asserted)', async () => {
    const cl = await loadTokenizer('cl100k_base');
    for (const s of ['a'.repeat(200_000), ' '.repeat(200_000), ' \n'.repeat(100_000), '\u{1F600}'.repeat(50_000), '\u0000'.repeat(100_000)]) {
      const n = cl.count(s);
      assert.ok(n > 0 && n <= s.length * 2, `${n} tokens for ${s.length} code units`);
    }
  });

  it('gives per-token pieces that concatenate to the text, multi-byte characters included', async () => {
    const cl = await loadTokenizer('cl100k_base');
    const text = 'héllo \u{1F600} naïve — 東京 done';
    const pieces = cl.pieces(cl.encode(text));
    assert.equal(pieces.length, cl.count(text));
    assert.equal(pieces.join(''), text);
    assert.ok(!pieces.some((p) => p.includes('\uFFFD')));
  });

  it('decodes token-id prompts leniently', async () => {
    const cl = await loadTokenizer('cl100k_base');
    assert.equal(cl.decodeLenient(cl.encode('plain words')), 'plain words');
    assert.equal(typeof cl.decodeLenient([100_260, 15339]), 'string');
  });
});
