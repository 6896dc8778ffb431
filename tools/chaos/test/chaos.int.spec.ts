/**
 * The fast chaos scenarios against the real local stack, with a shorter load than `npm run chaos`: a SIGKILLed
 * inference worker restarted by the supervisor, and the tier-S engine answering 500. Every accepted job must reach
 * a final state exactly once (no loss, no duplicate completion, judged result or ledger row).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from '@llmgov/platform';
import { runChaos } from '../src/index.js';

describe('chaos (fast scenarios)', { timeout: 600_000 }, () => {
  it('loses and duplicates nothing when the inference worker is SIGKILLed and when an engine answers 500', async () => {
    const summary = await runChaos({
      scenarios: ['sigkill-inference-worker', 'engine-500'],
      input: path.resolve(repoRoot(), '../shared/data/squad-v1.1-dev-subset.json'),
      rate: 3,
      docRate: 0.5,
      durationS: 20,
      faultAtS: 8,
      faultS: 6,
      afterFaultS: 8,
      deadlineS: 60,
      graceS: 30,
      basePort: 18400,
      sessionTimeoutMs: 10_000,
      logDir: path.join(repoRoot(), '.local', 'logs', 'test-chaos'),
      ...(process.env.CHAOS_PROGRESS ? { progress: (l: string) => console.log(l) } : {}),
    });
    const [kill, engine] = summary.scenarios;
    for (const r of summary.scenarios) {
      const facts = JSON.stringify({ scenario: r.scenario, by_state: r.by_state, duplicates: r.duplicates, dlq_errors: r.dlq_errors, error: r.error });
      assert.equal(r.error, undefined, facts);
      assert.ok(r.submitted > 0, facts);
      assert.equal(r.lost, 0, facts);
      assert.equal(r.duplicated, 0, facts);
      assert.equal(r.final, r.submitted, facts);
      assert.equal(r.failed_without_reason, 0, facts);
      assert.equal(r.documents.not_indexed, 0, facts);
    }
    // The faults really happened.
    assert.deepEqual(kill!.restarts, { 'inference-worker': 1 });
    assert.ok(Number(engine!.fault.details.injected_failures) > 0, JSON.stringify(engine!.fault));
  });
});
