import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { completeness, isRefusal } from './checks.js';

describe('isRefusal', () => {
  it('detects refusals and missing-answer statements', () => {
    for (const t of [
      "I don't know.",
      'I am sorry, I cannot answer that.',
      'The answer is not mentioned in the passage.',
      'The context does not mention a date.',
      'There is not enough information.',
    ])
      assert.equal(isRefusal(t), true, t);
  });
  it('leaves answers alone', () => {
    for (const t of ['Norse raiders.', 'In 1066 William conquered England.', 'Denver Broncos', '']) assert.equal(isRefusal(t), false, t);
  });
});

describe('completeness', () => {
  it('is 1 for a finished answer of the asked type', () => {
    assert.equal(completeness('Who led the Normans?', 'Rollo', 'stop'), 1);
    assert.equal(completeness('In what year did it happen?', 'In 1066.', 'stop'), 1);
    assert.equal(completeness('How many sons did he have?', 'three sons', 'stop'), 1);
  });
  it('halves for a truncated answer and for a missing number, and multiplies both', () => {
    assert.equal(completeness('Who led the Normans?', 'Rollo and his', 'length'), 0.5);
    assert.equal(completeness('When did the war end?', 'After the treaty', 'stop'), 0.5);
    assert.equal(completeness('When did the war end?', 'After the treaty', 'length'), 0.25);
  });
  it('is 0 for an empty answer or a refusal', () => {
    assert.equal(completeness('Who?', '', 'stop'), 0);
    assert.equal(completeness('Who led them?', 'I do not know.', 'stop'), 0);
  });
});
