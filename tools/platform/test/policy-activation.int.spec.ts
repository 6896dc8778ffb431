/**
 * Policy rollback test against the real local stack: a RUNNING router service (a child process, as in production)
 * applies each newly activated policy version, and each rollback, within 5 s (issue 10 §1), and the version's budgets
 * are its reservation limits at once (§3). The router runs under its own KAFKA_TOPIC_PREFIX and policy namespace, and
 * every job belongs to a tenant of this run, so nothing live is read or changed.
 *
 * Versions (all the local policy, with tenant-a's routes under the test tenant):
 * - v1: no budget: jobs are routed (the routed event carries policy_version v1);
 * - v2: a 0 USD tenant day budget that degrades: every reservation is refused and the default route's template
 *   answers (the job result carries policy_version v2);
 * - v3: a 0 USD squad-qa day budget that refuses: jobs fail with budget_exceeded, naming the budget and v3.
 * "Within 5 s" is the timeout of each `eventually` after an activation, which includes a probe job's trip through
 * Kafka; no wall-clock figure is asserted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Topics, type InferenceRequestRouted, type JobStatusChanged } from '@llmgov/contracts';
import { BudgetKeys, PolicyRepository, createRedis } from '@llmgov/persistence';
import type { PolicyBudget } from '@llmgov/policy';
import { eventually } from '@llmgov/testing';
import { tenantPolicy } from '../src/index.js';
import { PlatformTestStack, validatedRequest } from './support/stack.js';

/** Issue 10: every router applies a newly activated version within 5 s. */
const WITHIN_5_S = 5000;
const run = randomUUID().slice(0, 8);
const prefix = `it-pol.${run}.`;
const namespace = `it-policy-${run}`;
const tenant = `pa-${run}`;
const ROUTED = [Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL] as const;

/** What became of one probe job, as the router published it. */
type Outcome =
  | { kind: 'routed'; version: number | null }
  | { kind: 'answered'; version: number | null; finishReason: string }
  | { kind: 'failed'; code: string; message: string };

const stack = new PlatformTestStack(prefix, `it-pol-${run}`);
let repo: PolicyRepository;
const outcomes = new Map<string, Outcome>();
/** Send time (epoch ms) of each probe job. */
const sent = new Map<string, number>();

function policy(budgets: Omit<PolicyBudget, 'tenant'>[]) {
  return tenantPolicy(tenant, 'policy-activation-test', (document) => {
    document.budgets = budgets.map((b) => ({ tenant, ...b }));
  });
}

/** Publishes one validated request of the test tenant (default route, no RAG) for the running router. */
async function sendJob(): Promise<string> {
  const jobId = `pa-job-${randomUUID()}`;
  const value = validatedRequest(tenant, jobId, { prompt: `What year was the lighthouse of run ${run} built (probe ${jobId})?`, feature: 'policy-activation' });
  sent.set(jobId, Date.now());
  await stack.send(Topics.inferenceValidated, jobId, value);
  return jobId;
}

/**
 * Sends a probe job on every call and resolves when some job sent at or after `since` came out as `want` says: the
 * probe of a newly activated version (jobs sent before the router applied it come out under the old one).
 */
function firstOutcomeSince(since: number, want: (o: Outcome) => boolean): Promise<Outcome> {
  return eventually<Outcome>(
    'a job sent after the activation to come out under the new version',
    async () => {
      await sendJob();
      for (const [jobId, o] of outcomes) if ((sent.get(jobId) ?? 0) >= since && want(o)) return o;
      return undefined;
    },
    { timeoutMs: WITHIN_5_S, intervalMs: 100 },
  );
}

before(
  async () => {
    await stack.open({ producer: true });
    repo = new PolicyRepository(stack.pool, namespace);
    await stack.consume([...ROUTED, Topics.jobStatus], async (name, value) => {
      if (name === Topics.jobStatus) {
        const ev = await stack.serde.decode<JobStatusChanged>(value);
        if (ev.tenant_id !== tenant) return;
        if (ev.state === 'completed' && ev.result)
          outcomes.set(ev.job_id, { kind: 'answered', version: ev.result.policy_version, finishReason: ev.result.finish_reason });
        else if (ev.state === 'failed' && ev.error) outcomes.set(ev.job_id, { kind: 'failed', code: ev.error.code, message: ev.error.message });
      } else {
        const ev = await stack.serde.decode<InferenceRequestRouted>(value);
        if (ev.tenant_id === tenant) outcomes.set(ev.job_id, { kind: 'routed', version: ev.policy_version });
      }
    });
  },
  { timeout: 120_000 },
);

after(async () => {
  await stack.close();
  const redis = createRedis(stack.config.REDIS_URL);
  const keys = await redis.keys(`budget:{${tenant}}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.srem(BudgetKeys.tenants, tenant);
  redis.disconnect();
});

describe('a running router follows policy activations and rollbacks', { timeout: 300_000 }, () => {
  it('applies each newly activated version, and each rollback, within 5 s, with its budgets as the reservation limits', async (t) => {
    /** Reports (not asserts) how long after the activation the first job under the new version came out. */
    const report = (what: string, since: number) => t.diagnostic(`${what}: first outcome under the new version ${Date.now() - since} ms after the activation`);
    const v1 = (await repo.apply(policy([]))).version;
    const v2 = (await repo.apply(policy([{ period: 'day', limit_usd: 0, alert_at: 0.8, throttle: 'degrade' }]))).version;
    const v3 = (await repo.apply(policy([{ route: 'squad-qa', period: 'day', limit_usd: 0, alert_at: 0.8, throttle: 'refuse' }]))).version;
    await repo.activate(v1, 'policy-activation-test');

    await stack.start({
      basePort: 18700,
      engines: false,
      services: ['router'],
      env: { POLICY_NAMESPACE: namespace, LOG_LEVEL: 'warn' },
    });
    // The router starts on v1 (its first load); its consumer group's first assignment can take a while, so this wait is
    // the platform's start-up, not the 5 s under test.
    const start = await eventually(
      'the running router to route a job under v1',
      async () => {
        await sendJob();
        return [...outcomes.values()].find((o) => o.kind === 'routed' && o.version === v1);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    assert.deepEqual(start, { kind: 'routed', version: v1 });

    // v2: its 0 USD degrade budget refuses every reservation; the default route's template answers under v2.
    let since = Date.now();
    await repo.activate(v2, 'policy-activation-test');
    const degraded = await firstOutcomeSince(since, (o) => o.kind === 'answered' && o.version === v2);
    report(`activate v${v2}`, since);
    assert.deepEqual(degraded, { kind: 'answered', version: v2, finishReason: 'template' });

    // Rollback: v1 again, and with it v1's limits (none): jobs are routed.
    since = Date.now();
    const back = await repo.rollback('policy-activation-test');
    assert.equal(back.version, v1);
    assert.deepEqual(await firstOutcomeSince(since, (o) => o.kind === 'routed' && o.version === v1), { kind: 'routed', version: v1 });
    report(`rollback to v${v1}`, since);

    // v3: a route budget that refuses: jobs fail with budget_exceeded, naming the budget and the version it comes from.
    since = Date.now();
    await repo.activate(v3, 'policy-activation-test');
    // A job the router decided under v1 just before it applied v3 can meet v3's limits at its reservation (the limits
    // in force apply at once, ADR 0007): its message names both versions. The probe waits for a job v3 decided.
    const refused = await firstOutcomeSince(since, (o) => o.kind === 'failed' && o.message.startsWith(`refused by policy version ${v3}:`));
    report(`activate v${v3}`, since);
    assert.equal(refused.kind, 'failed');
    if (refused.kind !== 'failed') return;
    assert.equal(refused.code, 'budget_exceeded');
    assert.match(
      refused.message,
      new RegExp(
        `^refused by policy version ${v3}: .*budget_spent→refuse; budget_exceeded: route:squad-qa day budget \\S+ \\(policy ${namespace} v${v3}\\): limit 0\\.000000 USD`,
      ),
    );

    since = Date.now();
    assert.equal((await repo.rollback('policy-activation-test')).version, v1);
    assert.deepEqual(await firstOutcomeSince(since, (o) => o.kind === 'routed' && o.version === v1), { kind: 'routed', version: v1 });
    report(`rollback to v${v1}`, since);
  });
});
