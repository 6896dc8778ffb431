import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shadowJobId, shadowRunJobId } from '@llmgov/contracts';
import { canaryBucket } from '@llmgov/policy';
import { shadowSampleKey, type ShadowUnderTest } from './shadow-pairing.js';

const shadow: ShadowUnderTest = { id: 7, version: 3, stableVersion: 2, percent: 40, startedAt: 1_000 };
/** Job ids whose bucket falls under / over the shadow's 40 %, found by the same hash the router uses. */
const ids = Array.from({ length: 200 }, (_, i) => `job-${i}`);
const inside = ids.find((id) => canaryBucket(id) < 40)!;
const outside = ids.find((id) => canaryBucket(id) >= 40)!;

describe('shadowSampleKey', () => {
  it('pairs the shadow copy and the stable answer of a job under the share on the user job id', () => {
    assert.deepEqual(shadowSampleKey({ job_id: shadowJobId(inside), policy_version: 3, occurred_at: 2_000, shadow: true }, shadow), {
      experimentId: 7,
      jobId: inside,
      variant: 'shadow',
      policyVersion: 3,
    });
    assert.deepEqual(shadowSampleKey({ job_id: inside, policy_version: 2, occurred_at: 2_000 }, shadow), {
      experimentId: 7,
      jobId: inside,
      variant: 'stable',
      policyVersion: 2,
    });
  });

  it('recognises a copy by its derived job id when the record carries no flag (usage and cost records)', () => {
    assert.equal(shadowSampleKey({ job_id: shadowJobId(inside), policy_version: 3, occurred_at: 2_000 }, shadow)?.variant, 'shadow');
  });

  it('takes no stable sample of a job outside the share, so the two sides cover the same jobs', () => {
    assert.equal(shadowSampleKey({ job_id: outside, policy_version: 2, occurred_at: 2_000 }, shadow), undefined);
  });

  it('ignores other versions, events before the start, unversioned events and the time without a shadow', () => {
    assert.equal(shadowSampleKey({ job_id: inside, policy_version: 1, occurred_at: 2_000 }, shadow), undefined);
    assert.equal(shadowSampleKey({ job_id: shadowJobId(inside), policy_version: 2, occurred_at: 2_000, shadow: true }, shadow), undefined);
    assert.equal(shadowSampleKey({ job_id: inside, policy_version: 2, occurred_at: 999 }, shadow), undefined);
    assert.equal(shadowSampleKey({ job_id: inside, policy_version: null, occurred_at: 2_000 }, shadow), undefined);
    assert.equal(shadowSampleKey({ job_id: null, policy_version: 2, occurred_at: 2_000 }, shadow), undefined);
    assert.equal(shadowSampleKey({ job_id: inside, policy_version: 2, occurred_at: 2_000 }, undefined), undefined);
  });

  it('leaves a shadow run’s copies (llmgov shadow pairs them itself) out of the live shadow’s samples', () => {
    assert.equal(shadowSampleKey({ job_id: shadowRunJobId('sr-1', inside), policy_version: 3, occurred_at: 2_000, shadow: true }, shadow), undefined);
  });
});
