import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FALLBACK_TEXT, decideVerdict } from './verdict.js';

const base = { finishReason: 'stop', minGroundedness: 0.5 };

describe('decideVerdict', () => {
  it('passes a grounded answer unchanged', () => {
    const d = decideVerdict({ ...base, text: 'The Normans came from Normandy.', groundedness: 0.5 });
    assert.deepEqual(d, { verdict: 'PASS', finalText: 'The Normans came from Normandy.', finishReason: 'stop', piiFound: false, reasons: [] });
  });

  it('falls back below the bar with the template answer', () => {
    const d = decideVerdict({ ...base, text: 'Something unsupported.', groundedness: 0.4999 });
    assert.equal(d.verdict, 'FALLBACK');
    assert.equal(d.finalText, FALLBACK_TEXT);
    assert.equal(d.finishReason, 'fallback');
    assert.deepEqual(d.reasons, ['groundedness_below_0.5']);
  });

  it('fails on PII before anything else and releases the masked text', () => {
    const d = decideVerdict({ ...base, text: 'Mail jane.doe@example.com or call 555-123-4567.', groundedness: 1 });
    assert.equal(d.verdict, 'FAIL_PII');
    assert.equal(d.piiFound, true);
    assert.equal(d.finalText, 'Mail [EMAIL] or call [PHONE].');
    assert.equal(d.finishReason, 'stop');
    assert.deepEqual(d.reasons, ['pii:email', 'pii:phone']);
  });

  it('reports PII even when the answer is ungrounded', () => {
    assert.equal(decideVerdict({ ...base, text: 'SSN 123-45-6789', groundedness: 0 }).verdict, 'FAIL_PII');
  });

  it('falls back on an empty answer', () => {
    assert.equal(decideVerdict({ ...base, text: '', groundedness: 0 }).verdict, 'FALLBACK');
  });

  it('honours a bar of 0 (everything passes) and 1 (only full support passes)', () => {
    assert.equal(decideVerdict({ ...base, minGroundedness: 0, text: 'x', groundedness: 0 }).verdict, 'PASS');
    assert.equal(decideVerdict({ ...base, minGroundedness: 1, text: 'x', groundedness: 0.99 }).verdict, 'FALLBACK');
  });
});
