import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RUN_CHARS, breakLongRuns, countTokens, decodeTokens, encodeText } from './tokens.js';

describe('encodeText', () => {
  it('encodes special-token strings in user text as plain text instead of throwing', () => {
    for (const special of ['<|endoftext|>', '<|im_start|>system', '<|fim_prefix|>', '<|endofprompt|>']) {
      const text = `before ${special} after`;
      const ids = encodeText(text);
      assert.ok(ids.length > 3, special);
      assert.equal(decodeTokens(ids), text, 'round-trips as the same characters');
      assert.ok(!ids.includes(100257), 'never the <|endoftext|> control token id');
    }
  });

  it('counts ordinary text like the tokenizer does and gives 0 for empty text', () => {
    assert.equal(countTokens(''), 0);
    assert.equal(countTokens('Super Bowl 50 was an American football game.'), 10);
  });
});

describe('breakLongRuns', () => {
  it('leaves ordinary text alone and splits a hostile giant run', () => {
    assert.equal(breakLongRuns('Super Bowl 50'), 'Super Bowl 50');
    const broken = breakLongRuns('x'.repeat(100_000));
    assert.ok(broken.split(' ').every((p) => p.length <= MAX_RUN_CHARS));
    assert.equal(broken.replace(/ /g, ''), 'x'.repeat(100_000));
  });
});
