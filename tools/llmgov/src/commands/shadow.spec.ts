import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatShadowDryRun, newShadowRunId, sampleJobs, type ShadowDryRun } from './shadow.js';

describe('llmgov shadow helpers', () => {
  const ids = Array.from({ length: 50 }, (_, i) => `job-${i}`);

  it('sampleJobs: all jobs without --sample or when there are fewer; else N by job-id hash, whatever the input order', () => {
    assert.deepEqual(sampleJobs(ids, undefined), [...ids].sort());
    assert.deepEqual(sampleJobs(ids.slice(0, 3), 10), ['job-0', 'job-1', 'job-2']);
    const s = sampleJobs(ids, 10);
    assert.equal(s.length, 10);
    assert.equal(new Set(s).size, 10);
    assert.ok(s.every((id) => ids.includes(id)));
    assert.deepEqual(sampleJobs([...ids].reverse(), 10), s, 'the dry run and the run draw the same jobs');
    assert.notDeepEqual(s, [...ids].sort().slice(0, 10), 'not simply the first ids');
  });

  it('newShadowRunId: sr-<UTC time>-<hex>, a valid run id for the copies’ job ids', () => {
    assert.match(newShadowRunId(new Date('2026-11-29T16:40:00Z')), /^sr-20261129164000-[0-9a-f]{6}$/);
  });

  it('formatShadowDryRun: counts, the window and both costs', () => {
    const d: ShadowDryRun = {
      dry_run: true,
      version: 4,
      window: { from: '2026-11-29T10:00:00.000Z', to: '2026-11-29T11:00:00.000Z' },
      judged_jobs: 12,
      by_tenant: { a: 8, b: 4 },
      by_route: { 'squad-qa': 12 },
      by_policy_version: { '3': 12 },
      sampled: 5,
      requests_found: 5,
      first_judged_at: '2026-11-29T10:01:00.000Z',
      last_judged_at: '2026-11-29T10:59:00.000Z',
      baseline_cost_usd: 0.0012,
      estimated_cost_usd: 0.05,
      price_catalog_version: '2026-11-v2',
    };
    const text = formatShadowDryRun(d);
    assert.match(text, /^dry run: shadow run of policy version 4 over 2026-11-29T10:00:00.000Z \.\. 2026-11-29T11:00:00.000Z \(nothing published\)$/m);
    assert.match(text, /^judged jobs in the window: 12 {2}would re-run: 5 \(requests found: 5\)$/m);
    assert.match(text, /^by tenant: a 8, b 4$/m);
    assert.match(text, /estimated cost of the re-run: 0\.050000 USD \(per job the larger of its cost as served/);
  });
});
