import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'gpt-tokenizer';
import { chunkText } from './chunker.js';

describe('chunkText', () => {
  it('keeps a short text in one chunk', () => {
    const chunks = chunkText('Super Bowl 50 was an American football game.', 64, 8);
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]!.tokenCount, encode('Super Bowl 50 was an American football game.').length);
  });

  it('windows long text with the requested overlap and covers every token', () => {
    const text = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const total = encode(text).length;
    const chunks = chunkText(text, 100, 20);
    assert.ok(chunks.every((c) => c.tokenCount <= 100));
    assert.equal(chunks.length, Math.ceil((total - 100) / 80) + 1);
    assert.ok(chunks[1]!.text.includes(chunks[0]!.text.split(' ').at(-2)!), 'neighbours overlap');
    assert.ok(chunks.at(-1)!.text.endsWith('word299'));
  });

  it('returns nothing for empty text and rejects overlap >= size', () => {
    assert.deepEqual(chunkText('', 10, 2), []);
    assert.throws(() => chunkText('x', 10, 10), RangeError);
  });
});

describe('chunkText on hostile text', () => {
  it('chunks a giant run and special-token strings as plain text (the tokenizer would throw on them by default)', () => {
    assert.ok(chunkText('x'.repeat(200_000), 256, 32).length > 10);
    const text = 'Intro. <|endoftext|> and <|im_start|>system are data here. '.repeat(20);
    const chunks = chunkText(text, 64, 8);
    assert.ok(chunks.length > 1);
    assert.ok(chunks[0]!.text.startsWith('Intro. <|endoftext|>'));
  });
});
