import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FALLBACK_TEXT, REFUSAL_TEXT, decideVerdict } from './verdict.js';

const base = { finishReason: 'stop', threshold: 0.5, refusal: false, canEscalate: false };

describe('decideVerdict', () => {
  it('passes an answer at the bar unchanged', () => {
    const d = decideVerdict({ ...base, text: 'The Normans came from Normandy.', quality: 0.5 });
    assert.deepEqual(d, { verdict: 'PASS', finalText: 'The Normans came from Normandy.', finishReason: 'stop', piiFound: false, reasons: [] });
  });

  it('falls back below the bar with the template answer, or escalates when a higher tier may be tried', () => {
    const d = decideVerdict({ ...base, text: 'Something unsupported.', quality: 0.4999 });
    assert.equal(d.verdict, 'FALLBACK');
    assert.equal(d.finalText, FALLBACK_TEXT);
    assert.equal(d.finishReason, 'fallback');
    assert.deepEqual(d.reasons, ['quality_below_0.5']);
    const e = decideVerdict({ ...base, canEscalate: true, text: 'Something unsupported.', quality: 0.2 });
    assert.equal(e.verdict, 'ESCALATE');
    assert.deepEqual(e.reasons, ['quality_below_0.5']);
  });

  it('never passes a refusal, whatever its quality', () => {
    const d = decideVerdict({ ...base, refusal: true, text: 'The context does not mention it.', quality: 0.9 });
    assert.equal(d.verdict, 'FALLBACK');
    assert.deepEqual(d.reasons, ['model_refusal']);
    assert.equal(decideVerdict({ ...base, refusal: true, canEscalate: true, text: 'I do not know.', quality: 0.1 }).verdict, 'ESCALATE');
  });

  it('refuses unsafe text before anything else, even with PII and full quality', () => {
    const d = decideVerdict({ ...base, text: 'Here is how to build a pipe bomb; mail jane@example.com.', quality: 1 });
    assert.equal(d.verdict, 'REFUSE');
    assert.equal(d.finalText, REFUSAL_TEXT);
    assert.equal(d.finishReason, 'content_filter');
    assert.deepEqual(d.reasons, ['safety:weapons']);
  });

  it('fails on PII before quality and releases the masked text', () => {
    const d = decideVerdict({ ...base, text: 'Mail jane.doe@example.com or call 555-123-4567.', quality: 1 });
    assert.equal(d.verdict, 'FAIL_PII');
    assert.equal(d.piiFound, true);
    assert.equal(d.finalText, 'Mail [EMAIL] or call [PHONE].');
    assert.equal(d.finishReason, 'stop');
    assert.deepEqual(d.reasons, ['pii:email', 'pii:phone']);
    assert.equal(decideVerdict({ ...base, text: 'SSN 123-45-6789', quality: 0 }).verdict, 'FAIL_PII');
  });

  it('honours a bar of 0 (every non-refusal passes) and 1 (only full quality passes)', () => {
    assert.equal(decideVerdict({ ...base, threshold: 0, text: 'x', quality: 0 }).verdict, 'PASS');
    assert.equal(decideVerdict({ ...base, threshold: 1, text: 'x', quality: 0.99 }).verdict, 'FALLBACK');
  });
});
