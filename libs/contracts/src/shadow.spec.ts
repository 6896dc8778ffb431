import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SHADOW_JOB_PREFIX, isShadowJobId, shadowJobId, userJobIdOf } from './shadow.js';

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
});
