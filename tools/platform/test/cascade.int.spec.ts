/**
 * The cascade of issue 11 §2 end to end: the real router, inference worker, judge (no JUDGE_CASCADE: the policy's
 * escalation block turns the cascade on) and cost-attributor on the sim engines, under their own KAFKA_TOPIC_PREFIX and
 * policy namespace, with a tenant of this run only. The policy is the local one with escalation allowed once on the `standard` class (squad-qa: tiers S and M,
 * min_quality 0.5). A request without RAG gets the sim's no-context sentence, which the judge scores below 0.5, so:
 * attempt 1 is routed to S, the judge escalates it to M as attempt 2 (same job id, a new event id, the escalation reason
 * appended), and, M answering the same sentence, the job is finalised after the maximum with both tiers listed.
 * Every wait is an `eventually`; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Topics, type InferenceRequestRouted, type JobStatusChanged } from '@llmgov/contracts';
import { PolicyRepository } from '@llmgov/persistence';
import { eventually } from '@llmgov/testing';
import { tenantPolicy } from '../src/index.js';
import { PlatformTestStack, validatedRequest } from './support/stack.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-casc.${run}.`;
const namespace = `it-cascade-${run}`;
const tenant = `cs-${run}`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;

const stack = new PlatformTestStack(prefix, `it-casc-${run}`);
const routed: InferenceRequestRouted[] = [];
const finished = new Map<string, JobStatusChanged>();

const policy = () =>
  tenantPolicy(tenant, 'cascade-test', (document) => {
    document.slo_classes.standard!.escalation = { allowed: true, max_escalations: 1 };
  });

async function sendJob(): Promise<string> {
  const id = `cs-job-${randomUUID()}`;
  const prompt = `When was the observatory of run ${run} founded (probe ${id})?`;
  await stack.send(Topics.inferenceValidated, id, validatedRequest(tenant, id, { prompt, feature: 'cascade' }));
  return id;
}

before(
  async () => {
    await stack.open({ producer: true });
    await stack.consume([...ROUTED, Topics.jobStatus], async (name, value) => {
      if (name === Topics.jobStatus) {
        const ev = await stack.serde.decode<JobStatusChanged>(value);
        if (ev.tenant_id === tenant && (ev.state === 'completed' || ev.state === 'failed')) finished.set(ev.job_id, ev);
      } else {
        const ev = await stack.serde.decode<InferenceRequestRouted>(value);
        if (ev.tenant_id === tenant) routed.push(ev);
      }
    });
  },
  { timeout: 120_000 },
);

after(() => stack.close());

describe('the quality cascade on the sim engines', { timeout: 600_000 }, () => {
  it('escalates a low S answer to M as attempt 2 of the same job and lists both tiers in the result', async (t) => {
    const repo = new PolicyRepository(stack.pool, namespace);
    const version = (await repo.apply(policy())).version;
    await repo.activate(version, 'cascade-test');
    const platform = await stack.start({
      basePort: 18860,
      services: ['router', 'inference-worker', 'judge', 'cost-attributor'],
      // No JUDGE_CASCADE: the escalation block of the class the job's route binds to turns the cascade on.
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn' },
    });
    // Start-up: the first consumer-group assignments can take a while, so jobs are sent until one finishes.
    const sent: string[] = [];
    const done = await eventually(
      'a job of this run to be finalised',
      async () => {
        if (sent.length < 5) sent.push(await sendJob());
        return sent.map((id) => finished.get(id)).find((s) => s !== undefined);
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    const attempts = routed.filter((r) => r.job_id === done.job_id).sort((a, b) => a.attempt - b.attempt);
    t.diagnostic(`job ${done.job_id}: ${attempts.map((a) => `attempt ${a.attempt} on ${a.tier}`).join(', ')}; result ${JSON.stringify(done.result)}`);
    assert.equal(done.state, 'completed');
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.tier]),
      [
        [1, 'S'],
        [2, 'M'],
      ],
    );
    assert.notEqual(attempts[0]!.event_id, attempts[1]!.event_id);
    assert.equal(attempts[1]!.policy_version, version);
    assert.deepEqual(attempts[1]!.decision_reasons, [...attempts[0]!.decision_reasons, 'quality_below_min→escalate_M']);
    assert.deepEqual(done.result!.decision_reasons.slice(-2), ['escalation_stopped:max_escalations_reached', 'tiers_tried:S,M']);
    const judgeMetrics = await (await fetch(`${platform.services.get('judge')!.url}/metrics`)).text();
    assert.match(judgeMetrics, /^judge_escalations_total\{from_tier="S",to_tier="M",service="judge"\} [1-9]/m);
  });
});
