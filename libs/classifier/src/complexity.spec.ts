import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMPLEXITY_WEIGHTS, complexityFeatures, complexityScore } from './complexity.js';

describe('complexityFeatures', () => {
  it('counts words, sentence units, clause markers, cues and numbers', () => {
    assert.deepEqual(complexityFeatures("Compare plan A and plan B, then explain why B costs $12.50 more. Don't guess; use the 2024 prices?"), {
      words: 20, // Compare plan A and plan B then explain why B costs 12 50 more Don't guess use the 2024 prices
      units: 3, // "... more" / "Don't guess" / "use the 2024 prices"
      clauses: 2, // "," and "then"
      cues: 3, // compare, explain, why
      numbers: 2, // 12.50, 2024
    });
  });
  it('does not split on decimal points or abbreviations inside a word, and counts at least one unit', () => {
    assert.equal(complexityFeatures('A fever of 39.5 degrees').units, 1);
    assert.equal(complexityFeatures('A fever of 39.5 degrees').numbers, 1);
    assert.equal(complexityFeatures('?!').units, 1);
    assert.equal(complexityFeatures('').words, 0);
  });
});

describe('complexityScore', () => {
  it('follows the documented formula', () => {
    // 12 words, 1 unit, 0 clauses, 0 cues, 1 number.
    const q = 'Which Louisiana venue was one of three considered for Super Bowl 50?';
    assert.equal(complexityScore(q).score, Math.round((COMPLEXITY_WEIGHTS.length * (12 / 60) + COMPLEXITY_WEIGHTS.numbers * (1 / 3)) * 10_000) / 10_000);
    assert.equal(complexityScore(q).score, 0.12);
  });

  it('scores a multi-part comparison with figures far above a short factoid or a greeting', () => {
    const greeting = complexityScore('Hi there!').score;
    const factoid = complexityScore('Who was the Super Bowl 50 MVP?').score;
    const multi = complexityScore(
      'Compare the indemnity provisions in these two vendor agreements, explain which one is riskier for us, and then estimate our exposure if a claim of $250,000 and another of $1.2 million both land in 2027?',
    ).score;
    assert.ok(greeting < factoid && factoid < 0.2, `${greeting} ${factoid}`);
    assert.ok(multi > 0.7, String(multi));
  });

  it('saturates each term: a huge text scores at most 1', () => {
    const huge = 'Compare why 1, 2, 3 differ. '.repeat(2_000);
    assert.equal(complexityScore(huge).score, 1);
  });

  it('is in 0..1, deterministic, and never falls when text is appended (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        const s = complexityScore(a).score;
        assert.ok(s >= 0 && s <= 1);
        assert.equal(complexityScore(a).score, s);
        assert.ok(complexityScore(`${a} ${b}`).score >= s);
      }),
    );
  });
});
