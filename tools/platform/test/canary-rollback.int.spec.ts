/**
 * The canary done-when test of issue 11 §4: "a canary that is made worse on purpose rolls back by itself". The real
 * platform (router, inference worker, judge, cost-attributor and the feedback-labeler's canary controller, on the sim
 * engines) runs under its own KAFKA_TOPIC_PREFIX and policy namespace, with a tenant of this run only.
 *
 * - v1 (stable): the local policy: the test tenant's default route (squad-qa, SLO class `standard`) is served by tier S.
 * - v2 (the canary, made worse on purpose): the same route bound to an SLO class that allows tier L only, so each of
 *   its jobs runs on the slow H100-priced pool: many times the cost per request of v1. Its `canary` section allows a
 *   cost ratio of 2 and, so that the cause is the one under test, effectively no latency or quality tolerance check.
 *
 * v2 goes into canary at 50%; jobs are sent until the controller has rolled it back by itself. The test asserts that
 * the canary decided some jobs first, that the recorded outcome is `rolled_back` by the controller with a cost cause,
 * and that later jobs whose job-id hash falls in the canary's half are decided by v1. Every wait is an `eventually`
 * with a generous timeout; no wall-clock figure is asserted (the time from canary start to rollback is reported).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Topics, type InferenceRequestRouted } from '@llmgov/contracts';
import { PolicyRepository, type PolicyCanary } from '@llmgov/persistence';
import { routesToCanary } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { tenantPolicy } from '../src/index.js';
import { PlatformTestStack, validatedRequest } from './support/stack.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-can.${run}.`;
const namespace = `it-canary-${run}`;
const tenant = `ca-${run}`;
const PERCENT = 50;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;

const stack = new PlatformTestStack(prefix, `it-can-${run}`);
let repo: PolicyRepository;
/** The policy version and tier each job was routed with, by job id. */
const routed = new Map<string, { version: number | null; tier: string; seenAt: number }>();

function policy(worse: boolean) {
  return tenantPolicy(tenant, 'canary-rollback-test', (document) => {
    if (!worse) return;
    document.description = 'canary made worse on purpose: the default route runs on tier L only';
    document.slo_classes.standard_l_only = { ...document.slo_classes.standard!, allowed_tiers: ['L'], max_cost_usd: 0.05, min_quality: 0 };
    document.tenants[tenant]!.routes['squad-qa']!.slo_class = 'standard_l_only';
    document.canary = { window_s: 600, min_samples: 8, max_cost_ratio: 2, max_p95_latency_ratio: 1000, max_quality_drop: 1 };
  });
}

/** A job id of this run; `canaryHalf` picks one whose hash falls under the canary's percent. */
function jobId(canaryHalf?: boolean): string {
  for (;;) {
    const id = `ca-job-${randomUUID()}`;
    if (canaryHalf === undefined || routesToCanary(id, PERCENT) === canaryHalf) return id;
  }
}

/** Publishes one validated request of the test tenant (default route, no RAG) for the running router. */
async function sendJob(id = jobId()): Promise<string> {
  const prompt = `When was the observatory of run ${run} founded (probe ${id})?`;
  await stack.send(Topics.inferenceValidated, id, validatedRequest(tenant, id, { prompt, feature: 'canary-rollback' }));
  return id;
}

before(
  async () => {
    await stack.open({ producer: true });
    repo = new PolicyRepository(stack.pool, namespace);
    await stack.consume(ROUTED, async (_name, value) => {
      const ev = await stack.serde.decode<InferenceRequestRouted>(value);
      if (ev.tenant_id === tenant) routed.set(ev.job_id, { version: ev.policy_version, tier: ev.tier, seenAt: Date.now() });
    });
  },
  { timeout: 120_000 },
);

after(() => stack.close());

describe('a canary made worse on purpose', { timeout: 600_000 }, () => {
  it('is rolled back by the canary controller, with its cause recorded, and later jobs are decided by the stable version', async (t) => {
    const v1 = (await repo.apply(policy(false))).version;
    const v2 = (await repo.apply(policy(true))).version;
    await repo.activate(v1, 'canary-rollback-test');

    const platform = await stack.start({
      basePort: 18760,
      services: ['router', 'inference-worker', 'judge', 'cost-attributor', 'feedback-labeler'],
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn', CANARY_EVAL_INTERVAL_MS: '1000' },
    });
    // Start-up: the router's consumer group's first assignment can take a while.
    await eventually(
      'the running router to route a job under the stable version',
      async () => {
        await sendJob();
        return [...routed.values()].find((r) => r.version === v1);
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );

    const started = await repo.startCanary(v2, PERCENT, 'canary-rollback-test', 'made worse on purpose: tier L only');
    const startedAt = Date.now();
    const ended = await eventually<PolicyCanary>(
      'the canary controller to roll the canary back by itself',
      async () => {
        await sendJob();
        const c = (await repo.canaries()).find((x) => x.id === started.id);
        return c?.outcome ? c : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 250 },
    );
    t.diagnostic(`canary ${ended.outcome} ${Date.now() - startedAt} ms after it started: ${ended.cause}`);
    const firstCanaryJob = Math.min(...[...routed.values()].filter((r) => r.version === v2).map((r) => r.seenAt));
    t.diagnostic(`first job decided by the canary routed ${firstCanaryJob - startedAt} ms after the canary started`);
    const byVersion = [...routed.values()].reduce<Record<string, number>>(
      (acc, r) => ({ ...acc, [`v${r.version}/${r.tier}`]: (acc[`v${r.version}/${r.tier}`] ?? 0) + 1 }),
      {},
    );
    t.diagnostic(`jobs routed by version/tier: ${JSON.stringify(byVersion)}`);

    assert.equal(ended.outcome, 'rolled_back');
    assert.equal(ended.ended_by, 'canary-controller');
    assert.match(ended.cause ?? '', /^cost: cost per request \S+ USD > 2 × stable \S+ USD \(\d+ vs \d+ samples\) over the last 600 s$/);
    // The canary did decide jobs, on tier L, before it was rolled back.
    assert.ok(
      [...routed.values()].some((r) => r.version === v2 && r.tier === 'L'),
      'some jobs were decided by the canary on tier L',
    );
    assert.equal((await repo.active())?.version, v1);
    assert.equal((await repo.active())?.canary, null);
    // The rollback is also a metric of the controller (the feedback-labeler), by the breached metric.
    const metrics = await (await fetch(`${platform.services.get('feedback-labeler')!.url}/metrics`)).text();
    assert.match(metrics, /^policy_canary_rollbacks_total\{metric="cost",service="feedback-labeler"\} 1$/m);
    // The router exports the tier-mix drift: S only before the canary, S and L since, so the two windows differ.
    const routerMetrics = await (await fetch(`${platform.services.get('router')!.url}/metrics`)).text();
    const tierDrift = /^policy_drift_js_divergence\{dimension="tier",service="router"\} (\S+)$/m.exec(routerMetrics);
    assert.ok(tierDrift, 'the router exports policy_drift_js_divergence{dimension="tier"}');

    // Later jobs, even those whose hash falls in the canary's half, are decided by the stable version once the routers
    // have applied the rollback (within 5 s: the first such job decided by v1 marks it), and every one after that too.
    const probes: string[] = [];
    await eventually(
      'a job of the canary half sent after the rollback to be decided by the stable version',
      async () => {
        probes.push(await sendJob(jobId(true)));
        return probes.find((id) => routed.get(id)?.version === v1);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const later = await Promise.all(Array.from({ length: 10 }, () => sendJob(jobId(true))));
    const decided = await eventually(
      'the later jobs to be routed',
      () => Promise.resolve(later.every((id) => routed.has(id)) ? later.map((id) => routed.get(id)!) : undefined),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    assert.deepEqual(
      decided.map((r) => r.version),
      later.map(() => v1),
    );
  });
});
