/**
 * The capacity gate (issue 10, section 5) against the real local stack: the real router and inference-worker services
 * (child processes, simulated engines) in their own Kafka namespace, under a policy activated in their own policy
 * namespace. The worker serves tier M only, so tier S's capacity signal is exactly the one this test writes.
 *
 * 1. The worker publishes its tier's report to Redis (saturation, paused, consumer lag from the broker, slots), and its
 *    service rate and time once it has completed a request.
 * 2. With no signal for S a request of the default route goes to S; after a saturated S report (paused, 100 records
 *    behind at 0.5/s: about 200 s against the route's 30 s budget) the router reroutes the next one to M, with the
 *    reason `capacity_wait_over_budget_S→reroute_M` on the routed event and on the worker's completion.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  Topics,
  schemaVersionOf,
  type InferenceCompleted,
  type InferenceRequestRouted,
  type InferenceRequestValidated,
  type TopicName,
} from '@llmgov/contracts';
import { newEnvelope } from '@llmgov/kafka-runtime';
import { PolicyRepository, TierCapacityStore, createRedis, type Redis } from '@llmgov/persistence';
import type { TierCapacityReport } from '@llmgov/policy';
import { eventually, waitForRecord } from '@llmgov/testing';
import { tenantPolicy } from '../src/index.js';
import { PlatformTestStack } from './support/stack.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-cap.${run}.`;
const policyNamespace = `it-cap-${run}`;
const tenant = `cap-${run}`;

const stack = new PlatformTestStack(prefix, `it-cap-${run}`);
let redis: Redis;
let signals: TierCapacityStore;

/** The local policy with its tenants replaced by this test's one tenant (the routes of tenant-a) and no budgets. */
async function activatePolicy(): Promise<number> {
  const { document, templates } = tenantPolicy(tenant, 'capacity-gate.int.spec');
  const repo = new PolicyRepository(stack.pool, policyNamespace);
  const { version } = await repo.apply({ document, templates, created_by: 'capacity-gate.int.spec' });
  await repo.activate(version, 'capacity-gate.int.spec');
  return version;
}

function validated(jobId: string): InferenceRequestValidated {
  return {
    ...newEnvelope(tenant, jobId, schemaVersionOf(Topics.inferenceValidated)),
    job_id: jobId,
    idempotency_key: null,
    prompt: `Where did the capacity test ${jobId} take place?`,
    system_prompt: null,
    budget: { latency_ms: 60_000, max_cost_usd: 0.05, min_quality: 0.5 },
    options: { max_tokens: 8, temperature: 0, rag: false, tier_hint: null },
    team: 'it',
    feature: 'capacity-gate-it',
    metadata: {},
    prompt_hash: randomUUID().replaceAll('-', ''),
    injection_score: 0,
    pii_masked_count: 0,
    route: null,
  } as InferenceRequestValidated;
}

async function submit(jobId: string): Promise<void> {
  await stack.send(Topics.inferenceValidated, jobId, validated(jobId));
}

/** The first record of `jobId` on the namespaced `topic`, decoded. */
async function recordOf<T>(topic: TopicName, jobId: string, timeoutMs = 60_000): Promise<T> {
  const seen = await waitForRecord(stack.kafka, prefix + topic, (r) => r.message.key?.toString() === jobId, timeoutMs);
  return (await stack.serde.decode(seen.message.value)) as T;
}

/** The router's current `router_tier_queue_wait_estimate_ms{tier}`, or undefined when it exports none for the tier. */
async function routerWaitEstimate(tier: string): Promise<number | undefined> {
  const text = await (await fetch(`${stack.platform!.services.get('router')!.url}/metrics`)).text();
  const m = new RegExp(`^router_tier_queue_wait_estimate_ms\\{tier="${tier}"[,}].* (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

before(
  async () => {
    await stack.open({ producer: true });
    redis = createRedis(stack.config.REDIS_URL);
    signals = new TierCapacityStore(redis, prefix);
    await activatePolicy();
    await stack.start({
      basePort: 18240,
      services: ['router', 'inference-worker'],
      restart: false,
      env: {
        LOG_LEVEL: 'warn',
        POLICY_NAMESPACE: policyNamespace,
        WORKER_TIERS: 'M',
        CAPACITY_PUBLISH_MS: '250',
        CAPACITY_REFRESH_MS: '200',
        // The S report this test writes stays valid for the whole file; the worker's own reports are refreshed anyway.
        CAPACITY_STALE_MS: '600000',
      },
    });
  },
  { timeout: 240_000 },
);

after(async () => {
  await stack.close();
  redis?.disconnect();
});

describe('capacity gate', { timeout: 180_000 }, () => {
  it('the inference worker publishes its tier’s report (saturation, paused, consumer lag, slots) to Redis', async () => {
    const report = await eventually('a tier M report from the worker', async () => (await signals.readAll()).find((r) => r.tier === 'M'), {
      timeoutMs: 30_000,
    });
    assert.equal(report.paused, false);
    assert.ok(report.saturation >= 0 && report.saturation <= 1);
    assert.equal(typeof report.lag, 'number', 'the consumer lag was asked of the broker');
    assert.ok(report.slots > 0);
    assert.equal((await signals.readAll()).filter((r) => r.tier === 'S').length, 0, 'no worker serves S here');
  });

  it('routes to S while S has no signal, and reroutes to M once S reports saturation, with the reason on the events', async () => {
    const before = `cap-${run}-before`;
    await submit(before);
    const first = await recordOf<InferenceRequestRouted>(Topics.inferenceRoutedS, before);
    assert.equal(first.tier, 'S');
    assert.ok(!first.decision_reasons.some((r) => r.startsWith('capacity_')), first.decision_reasons.join(', '));

    const saturatedS: TierCapacityReport = {
      tier: 'S',
      instance: `fake-saturated-${run}`,
      saturation: 1,
      paused: true,
      lag: 100,
      service_rate_per_s: 0.5,
      service_ms: 2_000,
      slots: 2,
      inflight: 2,
      published_at: Date.now(),
    };
    await signals.publish([saturatedS], 600_000);
    // The router re-reads the signals every 200 ms; its gauge says when it has this one (101 records at 0.5/s).
    await eventually('the router to estimate S’s queue wait from the saturated report', async () => (await routerWaitEstimate('S')) === 202_000, {
      timeoutMs: 30_000,
    });

    const rerouted = `cap-${run}-rerouted`;
    await submit(rerouted);
    const routed = await recordOf<InferenceRequestRouted>(Topics.inferenceRoutedM, rerouted);
    assert.equal(routed.tier, 'M');
    assert.equal(routed.route, 'squad-qa');
    assert.ok(routed.decision_reasons.includes('capacity_wait_over_budget_S→reroute_M'), routed.decision_reasons.join(', '));
    const completed = await recordOf<InferenceCompleted>(Topics.inferenceCompleted, rerouted);
    assert.equal(completed.tier, 'M');
    assert.ok(completed.decision_reasons.includes('capacity_wait_over_budget_S→reroute_M'));

    // The worker measured that completion: its M report now carries a service rate and time.
    const measured = await eventually(
      'the worker’s M report to carry a service rate',
      async () => (await signals.readAll()).find((r) => r.tier === 'M' && r.service_rate_per_s !== null && r.service_ms !== null),
      { timeoutMs: 30_000 },
    );
    assert.ok(measured.service_rate_per_s! > 0);
    assert.ok(measured.service_ms! > 0);
  });
});
