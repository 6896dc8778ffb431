import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bestAttempt, decideEscalation, triedTiers, type EscalationInput } from './cascade.js';

const TIER_ORDER = ['S', 'M', 'L'] as const;
const base: EscalationInput = {
  quality: 0.3,
  minQuality: 0.6,
  refusal: false,
  attempt: 1,
  tier: 'S',
  policy: { allowed: true, max_escalations: 2 },
  allowedTiers: ['S', 'M', 'L'],
  tierOrder: TIER_ORDER,
};

describe('decideEscalation', () => {
  it('escalates a below-the-bar S answer to M as attempt 2 with the routed reason', () => {
    assert.deepEqual(decideEscalation(base), { escalate: true, nextTier: 'M', nextAttempt: 2, reason: 'quality_below_min→escalate_M' });
  });

  it('does not escalate an answer at the bar, but does escalate a refusal at any quality', () => {
    assert.deepEqual(decideEscalation({ ...base, quality: 0.6 }), { escalate: false, reason: 'quality_met' });
    assert.equal(decideEscalation({ ...base, quality: 0.95, refusal: true }).escalate, true);
  });

  it('needs the class to allow escalation', () => {
    assert.deepEqual(decideEscalation({ ...base, policy: undefined }), { escalate: false, reason: 'escalation_not_allowed' });
    assert.deepEqual(decideEscalation({ ...base, policy: { allowed: false, max_escalations: 2 } }), { escalate: false, reason: 'escalation_not_allowed' });
  });

  it('stops at max_escalations (attempt 1 + max is the last one)', () => {
    const one = { allowed: true, max_escalations: 1 };
    assert.equal(decideEscalation({ ...base, policy: one, attempt: 1 }).escalate, true);
    assert.deepEqual(decideEscalation({ ...base, policy: one, attempt: 2, tier: 'M' }), { escalate: false, reason: 'max_escalations_reached' });
    assert.deepEqual(decideEscalation({ ...base, policy: { allowed: true, max_escalations: 0 } }), { escalate: false, reason: 'max_escalations_reached' });
  });

  it('skips tiers the class does not allow and never goes down or sideways', () => {
    assert.equal((decideEscalation({ ...base, allowedTiers: ['S', 'L'] }) as { nextTier: string }).nextTier, 'L');
    assert.deepEqual(decideEscalation({ ...base, tier: 'L', attempt: 2 }), { escalate: false, reason: 'no_higher_tier' });
    assert.deepEqual(decideEscalation({ ...base, allowedTiers: ['S'] }), { escalate: false, reason: 'no_higher_tier' });
    assert.deepEqual(decideEscalation({ ...base, tier: 'XL' }), { escalate: false, reason: 'no_higher_tier' });
  });

  it('property: an escalation always goes to a strictly higher allowed tier, one attempt later, within the maximum', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...TIER_ORDER),
        fc.option(fc.record({ allowed: fc.boolean(), max_escalations: fc.integer({ min: 0, max: 2 }) }), { nil: undefined }),
        fc.subarray([...TIER_ORDER], { minLength: 1 }),
        (quality, minQuality, refusal, attempt, tier, policy, allowedTiers) => {
          const d = decideEscalation({ quality, minQuality, refusal, attempt, tier, policy, allowedTiers, tierOrder: TIER_ORDER });
          if (!d.escalate) return;
          assert.ok(refusal || quality < minQuality);
          assert.ok(policy?.allowed);
          assert.ok(attempt <= policy.max_escalations);
          assert.ok(allowedTiers.includes(d.nextTier as (typeof TIER_ORDER)[number]));
          assert.ok(TIER_ORDER.indexOf(d.nextTier as (typeof TIER_ORDER)[number]) > TIER_ORDER.indexOf(tier));
          assert.equal(d.nextAttempt, attempt + 1);
        },
      ),
    );
  });
});

describe('bestAttempt and triedTiers', () => {
  it('releases the highest-quality non-refusal, the later attempt on a tie', () => {
    const s = { attempt: 1, tier: 'S', quality: 0.4, refusal: false };
    const m = { attempt: 2, tier: 'M', quality: 0.3, refusal: false };
    const l = { attempt: 3, tier: 'L', quality: 0.9, refusal: true };
    assert.equal(bestAttempt([s, m, l]), s);
    assert.equal(bestAttempt([l, m]), m);
    assert.equal(bestAttempt([s, { ...m, quality: 0.4 }]).tier, 'M');
    assert.equal(bestAttempt([l]), l);
    assert.throws(() => bestAttempt([]), RangeError);
  });

  it('lists the tiers in attempt order', () => {
    assert.deepEqual(
      triedTiers([
        { attempt: 2, tier: 'M', quality: 0.7, refusal: false },
        { attempt: 1, tier: 'S', quality: 0.2, refusal: false },
      ]),
      ['S', 'M'],
    );
  });
});
