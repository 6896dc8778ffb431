import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lexicalQuery, parseVariant, variantLabel } from './settings.js';

describe('lexicalQuery', () => {
  const q = "Which NFL team represented the AFC at Super Bowl 50's kickoff?";
  it('keeps the raw question as is', () => assert.equal(lexicalQuery(q, 'raw'), q));
  it('plain: lower case, no punctuation, possessive dropped, stop words kept', () =>
    assert.equal(lexicalQuery(q, 'plain'), 'which nfl team represented the afc at super bowl 50 kickoff'));
  it('keywords: also drops question words and function words', () =>
    assert.equal(lexicalQuery(q, 'keywords'), 'nfl team represented afc super bowl 50 kickoff'));
});

describe('parseVariant', () => {
  it('reads every key', () => {
    assert.deepEqual(parseVariant('rrfK=20, dense=0.7,lexical=1,query=keywords'), { rrfK: 20, dense: 0.7, lexical: 1, query: 'keywords' });
    assert.deepEqual(parseVariant(''), {});
  });
  it('rejects bad pairs with the reason', () => {
    assert.throws(() => parseVariant('rrfK'), /not key=value/);
    assert.throws(() => parseVariant('k=1'), /unknown key "k"/);
    assert.throws(() => parseVariant('dense=-1'), /expected a number >= 0/);
    assert.throws(() => parseVariant('query=upper'), /expected one of raw, plain, keywords/);
    assert.throws(() => parseVariant('dense=0,lexical=0'), /both be 0/);
  });
  it('labels only the fields that are set', () => {
    assert.equal(variantLabel({ rrfK: 20, query: 'plain' }), 'k=20 q=plain');
    assert.equal(variantLabel({}), '');
  });
});
