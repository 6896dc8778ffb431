import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicatedJobs, recoverySeconds, tallyJobs } from './figures.js';

/** Completions at `perSecond` evenly spread over [fromS, toS) seconds, as epoch ms from 0. */
const steady = (fromS: number, toS: number, perSecond: number) =>
  Array.from({ length: (toS - fromS) * perSecond }, (_, i) => fromS * 1000 + (i * 1000) / perSecond);

describe(recoverySeconds.name, () => {
  const p = { baselineFromMs: 0, faultStartMs: 20_000, faultEndMs: 40_000, untilMs: 100_000 };

  it('is the time from the fault end until the 5 s rate is back to 90 % of the baseline', () => {
    // 5/s before, nothing during the fault and for 7 s after, then 5/s again.
    const t = [...steady(0, 20, 5), ...steady(47, 100, 5)];
    assert.equal(recoverySeconds(t, p), 7);
  });

  it('is 0 when throughput never dropped', () => {
    assert.equal(recoverySeconds(steady(0, 100, 5), p), 0);
  });

  it('counts a catch-up burst as recovered once the window holds 90 % of the baseline', () => {
    // Nothing for 10 s after the fault, then 10/s: the window [48 s, 53 s) holds 30 >= 0.9 x 5/s x 5 s = 22.5 (at 47 s: 20).
    const t = [...steady(0, 20, 5), ...steady(50, 60, 10), ...steady(60, 100, 5)];
    assert.equal(recoverySeconds(t, p), 8);
  });

  it('does not count a rate just under 90 % as recovered', () => {
    assert.equal(recoverySeconds([...steady(0, 20, 5), ...steady(40, 100, 4)], p), null, '4/s is 80 % of 5/s');
  });

  it('is null when throughput never recovers or there is no baseline', () => {
    assert.equal(recoverySeconds([...steady(0, 20, 5), ...steady(40, 100, 2)], p), null);
    assert.equal(recoverySeconds(steady(40, 100, 5), p), null);
  });
});

describe(tallyJobs.name, () => {
  it('counts final states, failures with and without a reason, and lost (non-final or missing) jobs', () => {
    const t = tallyJobs(
      ['a', 'b', 'c', 'd', 'e', 'f'],
      [
        { jobId: 'a', state: 'completed', error: null },
        { jobId: 'b', state: 'failed', error: { code: 'engine_error', message: 'HTTP 500' } },
        { jobId: 'c', state: 'expired', error: { code: 'deadline_exceeded', message: 'past deadline' } },
        { jobId: 'd', state: 'failed', error: null },
        { jobId: 'e', state: 'in_progress', error: null },
        { jobId: 'zz', state: 'completed', error: null },
      ],
    );
    assert.deepEqual(
      { ...t, by_state: undefined, failure_codes: undefined },
      {
        submitted: 6,
        final: 4,
        completed: 1,
        failed_with_reason: 2,
        failed_without_reason: 1,
        lost: 2,
        missing: 1,
        by_state: undefined,
        failure_codes: undefined,
      },
    );
    assert.deepEqual(t.failure_codes, { engine_error: 1, deadline_exceeded: 1 });
    assert.deepEqual(t.by_state, { completed: 1, failed: 2, expired: 1, in_progress: 1, missing: 1 });
  });
});

describe(duplicatedJobs.name, () => {
  it('counts a job once however many of its records are duplicated, and ignores jobs not submitted', () => {
    const d = duplicatedJobs(['a', 'b', 'c'], {
      completions: new Map([
        ['a', 2],
        ['b', 1],
        ['x', 3],
      ]),
      judged: new Map([
        ['a', 2],
        ['c', 1],
      ]),
      ledgerRows: new Map([['b', 2]]),
    });
    assert.equal(d.duplicated, 2);
    assert.deepEqual(d.by_record, { completions: 1, judged: 1, ledger_rows: 1 });
    assert.deepEqual(d.examples.sort(), ['a', 'b']);
  });
});
