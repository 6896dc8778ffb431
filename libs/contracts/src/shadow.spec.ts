import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SHADOW_JOB_PREFIX, isShadowJobId, shadowJobId, shadowRunJobId, shadowRunOf, userJobIdOf } from './shadow.js';

describe('shadow job ids', () => {
  const job = '0b9f2c1e-5d7a-4c3e-9f10-6a2b3c4d5e6f';

  it('derives shadow:<job id>, recognises it and maps it back to the user job', () => {
    const id = shadowJobId(job);
    assert.equal(id, `${SHADOW_JOB_PREFIX}${job}`);
    assert.notEqual(id, job);
    assert.equal(isShadowJobId(id), true);
    assert.equal(isShadowJobId(job), false);
    assert.equal(userJobIdOf(id), job);
    assert.equal(userJobIdOf(job), job);
  });

  it('refuses to derive a shadow id from a shadow id (a copy of a copy would escape the pairing)', () => {
    assert.throws(() => shadowJobId(shadowJobId(job)), /already a shadow copy/);
  });

  it("derives a run's copy id shadow:<run id>:<job id>, distinct from the live copy's, and parses it back", () => {
    const id = shadowRunJobId('sr-20261129160000-a1b2c3', job);
    assert.equal(id, `shadow:sr-20261129160000-a1b2c3:${job}`);
    assert.notEqual(id, shadowJobId(job));
    assert.equal(isShadowJobId(id), true);
    assert.deepEqual(shadowRunOf(id), { runId: 'sr-20261129160000-a1b2c3', userJobId: job });
    assert.equal(userJobIdOf(id), job);
    assert.equal(shadowRunOf(shadowJobId(job)), undefined);
    assert.equal(shadowRunOf(job), undefined);
  });

  it('refuses hostile run ids and copies of copies', () => {
    for (const bad of ['', 'sr-', 'SR-1', 'sr-a:b', 'x'.repeat(100), 'sr-1\n', '../sr-1']) assert.throws(() => shadowRunJobId(bad, job), /not a shadow run id/);
    assert.throws(() => shadowRunJobId('sr-1', shadowJobId(job)), /already a shadow copy/);
    // A live copy of a job id that merely contains a colon is not taken for a run's.
    assert.equal(shadowRunOf('shadow:NOT_A_RUN:x'), undefined);
  });
});
