import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateScores, exactMatch, normalizeAnswer, scoreAnswer, tokenF1 } from './squad-eval.js';

describe('SQuAD v1.1 scoring', () => {
  it('normalises as the official script: lower case, no punctuation, no articles, single spaces', () => {
    assert.equal(normalizeAnswer('  The Denver Broncos!  '), 'denver broncos');
    assert.equal(normalizeAnswer('an apple, a pear'), 'apple pear');
    assert.equal(normalizeAnswer('Theatre'), 'theatre'); // "the" only as a whole word
    assert.equal(normalizeAnswer('1,000-year'), '1000year');
    assert.equal(normalizeAnswer('...'), '');
  });

  it('exact match compares normalised strings', () => {
    assert.equal(exactMatch('the Broncos.', 'Broncos'), 1);
    assert.equal(exactMatch('Denver Broncos', 'Broncos'), 0);
  });

  it('token F1 counts shared tokens as a multiset', () => {
    // prediction "denver broncos won", gold "broncos": precision 1/3, recall 1 → F1 0.5
    assert.equal(tokenF1('Denver Broncos won', 'the Broncos'), 0.5);
    // repeated tokens are matched at most as often as the gold has them: "a a b" vs "a b" → common 2, P 2/3, R 1
    assert.ok(Math.abs(tokenF1('x x y', 'x y') - 0.8) < 1e-12);
    assert.equal(tokenF1('', 'x'), 0);
    assert.equal(tokenF1('cat', 'dog'), 0);
  });

  it('takes the best score over the gold answers', () => {
    assert.deepEqual(scoreAnswer('Santa Clara', ['Levi Stadium', 'Santa Clara, California', 'Santa Clara']), { em: 1, f1: 1 });
    const partial = scoreAnswer('in Santa Clara', ['Santa Clara, California']);
    assert.equal(partial.em, 0);
    assert.ok(partial.f1 > 0.5 && partial.f1 < 1);
    assert.deepEqual(scoreAnswer('anything', []), { em: 0, f1: 0 });
  });

  it('aggregates overall and per group', () => {
    const agg = aggregateScores([
      { group: 'S', em: 1, f1: 1 },
      { group: 'S', em: 0, f1: 0.5 },
      { group: 'M', em: 0, f1: 0 },
    ]);
    assert.equal(agg.overall.n, 3);
    assert.equal(agg.overall.exact_match, 1 / 3);
    assert.equal(agg.overall.f1, 0.5);
    assert.deepEqual(Object.keys(agg.by_group), ['M', 'S']);
    assert.equal(agg.by_group['S']!.f1, 0.75);
    assert.equal(aggregateScores([]).overall.n, 0);
  });
});
