import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyBudget } from '@llmgov/policy';
import { StaticBudgetLimits, type RedisBudgetLimits } from './budget-limits.js';
import { EffectiveBudgetLimits, PolicyBudgetLimits, policyBudgetScope } from './policy-budget-limits.js';
import type { BudgetScope } from './budget-scope.js';

const budget = (b: Partial<PolicyBudget> & Pick<PolicyBudget, 'tenant' | 'period' | 'limit_usd'>): PolicyBudget => ({
  alert_at: 0.8,
  throttle: 'degrade',
  ...b,
});
const TENANT: BudgetScope = { kind: 'tenant' };
const FAQ: BudgetScope = { kind: 'route', name: 'faq' };
const QA: BudgetScope = { kind: 'team', name: 'qa' };

/** Overrides as RedisBudgetLimits holds them, in memory (the Redis side has its own integration spec). */
function overrides(entries: ConstructorParameters<typeof StaticBudgetLimits>[0] = []): RedisBudgetLimits {
  const s = new StaticBudgetLimits(entries);
  return {
    limitsFor: (t: string, scopes: readonly BudgetScope[]) => s.limitsFor(t, scopes),
    list: (t: string) => s.limitsFor(t, [TENANT, FAQ, QA]),
  } as unknown as RedisBudgetLimits;
}

describe('policy budget limits', () => {
  it('maps each entry to its one scope', () => {
    assert.deepEqual(policyBudgetScope({}), TENANT);
    assert.deepEqual(policyBudgetScope({ team: 'qa' }), QA);
    assert.deepEqual(policyBudgetScope({ route: 'faq' }), FAQ);
    assert.throws(() => policyBudgetScope({ team: 'qa', route: 'faq' }));
  });

  it("holds the applied version's budgets per tenant, labelled with namespace and version, and replaces them on the next", async () => {
    const limits = new PolicyBudgetLimits();
    assert.equal(limits.version(), null);
    assert.deepEqual(await limits.limitsFor('t1', [TENANT]), []);
    const v1 = [
      budget({ tenant: 't1', period: 'day', limit_usd: 0.29 }),
      budget({ tenant: 't1', route: 'faq', period: 'month', limit_usd: 2, alert_at: 0.5, throttle: 'refuse' }),
      budget({ tenant: 't2', period: 'day', limit_usd: 5e12 }),
    ];
    assert.equal(limits.apply({ namespace: 'ns1', version: 1, document: { budgets: v1 } }), true);
    assert.deepEqual(limits.version(), { namespace: 'ns1', version: 1 });
    assert.deepEqual(await limits.limitsFor('t1', [TENANT, QA, FAQ]), [
      { scope: TENANT, period: 'day', limitMicroUsd: 290_000, alertAt: 0.8, throttle: 'degrade', origin: { kind: 'policy', namespace: 'ns1', version: 1 } },
      { scope: FAQ, period: 'month', limitMicroUsd: 2_000_000, alertAt: 0.5, throttle: 'refuse', origin: { kind: 'policy', namespace: 'ns1', version: 1 } },
    ]);
    assert.equal(limits.list('t2')[0]!.limitMicroUsd, Math.floor(Number.MAX_SAFE_INTEGER / 4), 'held at the largest counter amount');

    assert.equal(limits.apply({ namespace: 'ns1', version: 2, document: { budgets: [budget({ tenant: 't1', period: 'day', limit_usd: 1 })] } }), true);
    assert.deepEqual(
      (await limits.limitsFor('t1', [TENANT, FAQ])).map((l) => [l.period, l.limitMicroUsd, l.origin]),
      [['day', 1_000_000, { kind: 'policy', namespace: 'ns1', version: 2 }]],
    );
    assert.deepEqual(limits.list('t2'), [], 'a budget the new version drops is gone');
    assert.equal(limits.apply({ namespace: 'ns1', version: 2, document: { budgets: [] } }), false, 'same version: not a change');
    limits.apply(undefined);
    assert.equal(limits.version(), null);
    assert.deepEqual(limits.list('t1'), []);
  });

  it("lets an operator's override win over the policy, keeping the policy entry's alert_at and throttle, and says so", async () => {
    const policy = new PolicyBudgetLimits();
    policy.apply({
      namespace: 'default',
      version: 7,
      document: {
        budgets: [
          budget({ tenant: 't1', period: 'day', limit_usd: 2 }),
          budget({ tenant: 't1', route: 'faq', period: 'day', limit_usd: 1, alert_at: 0.9, throttle: 'refuse' }),
        ],
      },
    });
    const effective = new EffectiveBudgetLimits(
      overrides([
        { tenant: 't1', scope: FAQ, period: 'day', limitMicroUsd: 50_000 },
        { tenant: 't1', scope: QA, period: 'month', limitMicroUsd: 3_000_000 },
      ]),
      policy,
    );
    const got = await effective.limitsFor('t1', [TENANT, QA, FAQ]);
    const find = (scope: BudgetScope, period: string) => got.find((l) => JSON.stringify(l.scope) === JSON.stringify(scope) && l.period === period);
    assert.deepEqual(find(TENANT, 'day')?.origin, { kind: 'policy', namespace: 'default', version: 7 });
    assert.deepEqual(find(FAQ, 'day'), {
      scope: FAQ,
      period: 'day',
      limitMicroUsd: 50_000,
      alertAt: 0.9,
      throttle: 'refuse',
      origin: { kind: 'override', shadows: { namespace: 'default', version: 7, limitMicroUsd: 1_000_000 } },
    });
    assert.deepEqual(find(QA, 'month'), {
      scope: QA,
      period: 'month',
      limitMicroUsd: 3_000_000,
      alertAt: 0.8,
      throttle: 'degrade',
      origin: { kind: 'override', shadows: null },
    });
    assert.equal(got.length, 3);
    assert.equal((await effective.list('t1')).length, 3);
  });
});
