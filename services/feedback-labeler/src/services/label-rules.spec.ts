import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FeedbackKind } from '@llmgov/contracts';
import { agreementStats, agreesWithJudge, labelFor } from './label-rules.js';

describe('labelFor', () => {
  it('maps every feedback kind to a label and a source', () => {
    assert.deepEqual(labelFor('THUMBS_UP'), { label: 'GOOD', source: 'EXPLICIT' });
    assert.deepEqual(labelFor('COPY'), { label: 'GOOD', source: 'IMPLICIT' });
    assert.deepEqual(labelFor('THUMBS_DOWN'), { label: 'BAD', source: 'EXPLICIT' });
    assert.deepEqual(labelFor('CORRECTION'), { label: 'BAD', source: 'EXPLICIT' });
    assert.deepEqual(labelFor('REGENERATE'), { label: 'BAD', source: 'IMPLICIT' });
    assert.deepEqual(labelFor('ABANDON'), { label: 'BAD', source: 'IMPLICIT' });
  });

  it('covers every symbol of the schema enum', () => {
    for (const kind of Object.values(FeedbackKind)) assert.ok(labelFor(kind));
  });

  it('rejects a kind outside the enum', () => {
    assert.throws(() => labelFor('LIKE' as FeedbackKind), /unknown feedback kind/);
  });
});

describe('agreesWithJudge', () => {
  it('agrees on GOOD+PASS and BAD+non-PASS only', () => {
    assert.equal(agreesWithJudge('GOOD', 'PASS'), true);
    assert.equal(agreesWithJudge('BAD', 'FALLBACK'), true);
    assert.equal(agreesWithJudge('BAD', 'FAIL_PII'), true);
    assert.equal(agreesWithJudge('GOOD', 'FALLBACK'), false);
    assert.equal(agreesWithJudge('BAD', 'PASS'), false);
  });
});

describe('agreementStats', () => {
  it('returns nulls when nothing was compared', () => {
    assert.deepEqual(agreementStats({ goodPass: 0, goodNotPass: 0, badPass: 0, badNotPass: 0 }), { compared: 0, agreed: 0, rate: null, kappa: null });
  });

  it('computes the rate and Cohen kappa', () => {
    // Worked example: 20 GOOD/PASS, 5 GOOD/other, 10 BAD/PASS, 15 BAD/other -> p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    assert.deepEqual(agreementStats({ goodPass: 20, goodNotPass: 5, badPass: 10, badNotPass: 15 }), { compared: 50, agreed: 35, rate: 0.7, kappa: 0.4 });
  });

  it('has no kappa when both sides use one class only', () => {
    assert.deepEqual(agreementStats({ goodPass: 4, goodNotPass: 0, badPass: 0, badNotPass: 0 }), { compared: 4, agreed: 4, rate: 1, kappa: null });
  });
});
