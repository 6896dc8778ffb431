/**
 * The cascade port on the real parts of the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`): the
 * deciding policy version read from Postgres (own namespace per run, never activated, the live `default` untouched),
 * the next attempt's reservation through BudgetReservations with that version's budgets, the judged attempts in Redis.
 * Every test has its own tenant and job ids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PolicyRepository, type createPgPool, type Redis } from '@llmgov/persistence';
import { PolicyCascade, cascadeAttemptsKey } from '../src/services/policy-cascade.js';
import type { StoredAttempt } from '../src/services/cascade.js';
import { PolicyVersions } from '../src/services/policy-versions.js';
import { completionOf, needsStores, openStores, policyReservations, tenantPolicy } from './support.js';

const run = randomUUID().slice(0, 8);

/** The local policy with tenant-a's routes under `tenant`, escalation on the `standard` class (squad-qa), `budgets` only. */
function policyFor(tenant: string, budgets: Parameters<typeof tenantPolicy>[1]) {
  const policy = tenantPolicy(tenant, budgets);
  policy.document.slo_classes['standard']!.escalation = { allowed: true, max_escalations: 1 };
  return policy;
}

const completion = (tenant: string, jobId: string, policyVersion: number) =>
  completionOf(tenant, jobId, policyVersion, { text: 'Something unsupported.', team: null, max_tokens: 256 });

describe('PolicyCascade on the stack', { skip: needsStores }, () => {
  let pool: ReturnType<typeof createPgPool>;
  let redis: Redis;
  let close: () => Promise<void>;
  const namespace = `test-cascade-${run}`;
  const jobs: string[] = [];

  before(async () => {
    ({ pool, redis, close } = await openStores());
  });
  after(async () => {
    if (jobs.length > 0) await redis.del(...jobs.map(cascadeAttemptsKey));
    await close();
  });

  function cascadeOn(): PolicyCascade {
    const { limits, reservations } = policyReservations(redis);
    return new PolicyCascade(new PolicyVersions(new PolicyRepository(pool, namespace)), reservations, limits, redis, 600);
  }

  it('reads the escalation settings, allowed tiers, models and prompt templates of the deciding version', async () => {
    const tenant = `casc-${run}-a`;
    const { version } = await new PolicyRepository(pool, namespace).apply({ ...policyFor(tenant, []), created_by: 'test' });
    const ctx = await cascadeOn().context(completion(tenant, `job-${run}-a`, version));
    assert.deepEqual(ctx, {
      escalation: { allowed: true, max_escalations: 1 },
      allowedTiers: ['S', 'M'],
      models: { S: 'smollm2-135m-instruct', M: 'gemma-3-270m', L: 'gemma-3-270m' },
      templates: { S: 'squad-chat-smollm2@1', M: 'squad-completions-gemma@1', L: 'squad-completions-gemma-long@1' },
    });
    assert.equal(
      await cascadeOn()
        .context({ ...completion(tenant, `job-${run}-a`, version), route: 'support-faq' })
        .then((c) => c?.escalation),
      undefined,
    );
    assert.equal(await cascadeOn().context({ ...completion(tenant, `job-${run}-a`, version), policy_version: null }), null);
  });

  it('reserves the next attempt under the version’s budgets: granted (idempotently) within them, refused past a refuse budget', async () => {
    const rich = `casc-${run}-rich`;
    const poor = `casc-${run}-poor`;
    const repo = new PolicyRepository(pool, namespace);
    const v1 = (await repo.apply({ ...policyFor(rich, [{ period: 'day', limit_usd: 1, alert_at: 0.8, throttle: 'refuse' }]), created_by: 'test' })).version;
    const v2 = (await repo.apply({ ...policyFor(poor, [{ period: 'day', limit_usd: 0.001, alert_at: 0.8, throttle: 'refuse' }]), created_by: 'test' })).version;
    const cascade = cascadeOn();
    const granted = completion(rich, `job-${run}-rich`, v1);
    // Worst case on M (local.yaml: A100 at 3 USD/h, 300 prompt and 50 completion tokens per GPU-s): 120 prompt tokens
    // and max_tokens 256 = (120/300 + 256/50) s = 5.52 s = 0.0046 USD.
    const first = await cascade.reserveAttempt(granted, 'M', 2);
    assert.deepEqual(first, { usd: 0.0046, first: true });
    assert.deepEqual(await cascade.reserveAttempt(granted, 'M', 2), { usd: 0.0046, first: false });
    assert.equal(await cascade.reserveAttempt(completion(poor, `job-${run}-poor`, v2), 'M', 2), null);
  });

  it('keeps one entry per attempt, with a TTL', async () => {
    const jobId = `job-${run}-kept`;
    jobs.push(jobId);
    const cascade = cascadeOn();
    const a = (attempt: number, tier: 'S' | 'M', quality: number): StoredAttempt => ({
      attempt,
      tier,
      model: `m-${tier}`,
      quality,
      refusal: false,
      text: `answer ${attempt}`,
      finish_reason: 'stop',
      groundedness: quality,
      prompt_tokens: 10,
      completion_tokens: 5,
      retrieved_document_ids: ['d1'],
    });
    await cascade.remember(jobId, a(1, 'S', 0.2));
    await cascade.remember(jobId, a(1, 'S', 0.2));
    await cascade.remember(jobId, a(2, 'M', 0.7));
    const kept = (await cascade.attempts(jobId)).sort((x, y) => x.attempt - y.attempt);
    assert.deepEqual(kept, [a(1, 'S', 0.2), a(2, 'M', 0.7)]);
    const ttl = await redis.ttl(cascadeAttemptsKey(jobId));
    assert.ok(ttl > 0 && ttl <= 600, `ttl ${ttl}`);
  });
});
