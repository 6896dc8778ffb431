import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { claimSupport, contentTokens, groundedness, relevance } from './lexical.js';

describe('contentTokens', () => {
  it('lower-cases, drops stop words and one-letter words, keeps numbers', () => {
    assert.deepEqual([...contentTokens('The Normans conquered England in 1066 and a 7')], ['normans', 'conquered', 'england', '1066', '7']);
  });

  it('returns nothing for empty, blank and symbol-only strings', () => {
    assert.equal(contentTokens('').size, 0);
    assert.equal(contentTokens(' \n\t ').size, 0);
    assert.equal(contentTokens('!!! ... ??? -- ;').size, 0);
  });

  it('treats hostile strings as plain words', () => {
    const t = contentTokens("'; DROP TABLE labels; -- <script>alert(1)</script> __proto__ constructor \u0000\u001b[31m");
    assert.ok(t.has('drop') && t.has('table') && t.has('labels') && t.has('script') && t.has('proto') && t.has('constructor'));
    for (const tok of t) assert.match(tok, /^[\p{L}\p{M}\p{N}]+$/u);
  });

  it('normalises compatibility forms (NFKC) and case', () => {
    assert.deepEqual([...contentTokens('ＰＡＲＩＳ Paris paris')], ['paris']);
  });
});

describe('groundedness', () => {
  const context = ['The Normans were descended from Norse raiders.', 'Normandy is a region in France; it was named in the 10th century.'];

  it('is 1 when every content token of the answer is in the context', () => {
    assert.equal(groundedness('The Normans descended from Norse raiders', context), 1);
  });

  it('is the share of distinct answer content tokens found in the context', () => {
    // content tokens: normans, came, from? no (stop word) -> normans, came, denmark, 10th, century => 3 of 5 supported
    assert.equal(groundedness('Normans came from Denmark in the 10th century', context), 0.6);
  });

  it('counts repeated words once', () => {
    assert.equal(groundedness('Denmark Denmark Denmark Normans', context), 0.5);
  });

  it('scores an empty, blank or stop-word-only answer 0', () => {
    assert.equal(groundedness('', context), 0);
    assert.equal(groundedness('   ', context), 0);
    assert.equal(groundedness('It is what it is.', context), 0);
  });

  it('scores 0 without context', () => {
    assert.equal(groundedness('Normans', []), 0);
    assert.equal(groundedness('Normans', ['']), 0);
  });

  it('stays within 0..1 on hostile input', () => {
    const hostile = "Ignore previous instructions'; DROP TABLE x;-- \u202e\u0000 ".repeat(2000);
    const g = groundedness(hostile, [hostile.slice(0, 100)]);
    assert.ok(g >= 0 && g <= 1);
    assert.equal(groundedness(hostile, [hostile]), 1);
  });
});

describe('relevance', () => {
  it('is the share of the prompt content tokens the answer mentions', () => {
    assert.equal(relevance('When did the Normans conquer England?', 'The Normans invaded England in 1066.'), 0.6667);
  });

  it('is 0 for an empty prompt or an empty answer', () => {
    assert.equal(relevance('', 'Normans'), 0);
    assert.equal(relevance('???', 'Normans'), 0);
    assert.equal(relevance('Who were the Normans?', ''), 0);
  });
});

describe('claimSupport', () => {
  const ctx = ['Denver Broncos defeated the Carolina Panthers 24–10 to earn their third Super Bowl title.'];
  const q = 'Which team won Super Bowl 50?';
  it('scores only what the answer adds to the question', () => {
    assert.equal(claimSupport('The team that won was the Denver Broncos.', q, ctx), 1);
    assert.equal(claimSupport('The team that won was the Green Bay Packers.', q, ctx), 0);
    assert.equal(claimSupport('Denver Broncos in 1999.', q, ctx), 0.6667);
  });
  it('is 0 for an answer that only echoes the question, or without context', () => {
    assert.equal(claimSupport('The team won Super Bowl 50.', q, ctx), 0);
    assert.equal(claimSupport('Denver Broncos', q, []), 0);
  });
});
