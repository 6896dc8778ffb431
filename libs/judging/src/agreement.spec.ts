import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { agreementFigures, calibrate, confusion, evaluateWeights, splitOf, type LabelledScores } from './agreement.js';

describe('agreementFigures', () => {
  it("computes Cohen's kappa, precision and recall of PASS (worked example)", () => {
    // po = (20+15)/50 = 0.7; pe = (25/50)(30/50) + (25/50)(20/50) = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    const f = agreementFigures({ tp: 20, fp: 5, fn: 10, tn: 15 });
    assert.equal(f.n, 50);
    assert.equal(f.observed_agreement, 0.7);
    assert.ok(Math.abs(f.kappa - 0.4) < 1e-12, String(f.kappa));
    assert.equal(f.precision, 0.8);
    assert.equal(f.recall, 20 / 30);
  });
  it('is 1 for full agreement and 0 for a rater that passes everything', () => {
    assert.equal(
      agreementFigures(
        confusion([
          { pass: true, correct: true },
          { pass: false, correct: false },
        ]),
      ).kappa,
      1,
    );
    assert.equal(
      agreementFigures(
        confusion([
          { pass: true, correct: true },
          { pass: true, correct: false },
        ]),
      ).kappa,
      0,
    );
  });
});

describe('splitOf', () => {
  it('is deterministic per id and close to the requested share', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `q${i}`);
    const cal = ids.filter((id) => splitOf(id, 50) === 'calibration').length;
    assert.ok(cal > 900 && cal < 1100, String(cal));
    fc.assert(fc.property(fc.string(), (id) => splitOf(id, 50) === splitOf(id, 50)));
    assert.ok(ids.every((id) => splitOf(id, 0) === 'evaluation' && splitOf(id, 100) === 'calibration'));
  });
});

describe('calibrate', () => {
  const item = (id: string, lexical: number, correct: boolean, refusal = false): LabelledScores => ({
    id,
    scores: { lexical, semantic: null, relevance: 0, completeness: 1, refusal },
    correct,
  });

  it('finds weights and a threshold that separate separable labels, and never passes a refusal', () => {
    const items = [item('a', 0.9, true), item('b', 0.8, true), item('c', 0.3, false), item('d', 0.2, false), item('e', 0.95, false, true)];
    const { weights, figures } = calibrate(items, 'v-test');
    assert.equal(figures.kappa, 1);
    assert.equal(weights.version, 'v-test');
    assert.ok(Math.abs(weights.w_faithfulness + weights.w_relevance + weights.w_completeness - 1) < 1e-9);
    assert.equal(evaluateWeights(items, weights).kappa, 1);
  });

  it('refuses a single-class calibration set', () => {
    assert.throws(() => calibrate([item('a', 0.9, true), item('b', 0.1, true)], 'v'), /single class/);
  });
});
