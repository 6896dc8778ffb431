import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '@llmgov/errors';
import { counterId, parseCounterId, parseScopeKeyPart, periodKeyPart, requestScopes, scopeKeyPart, scopeLabel, type BudgetScope } from './budget-scope.js';
import { periodParts, recentPeriodParts } from './budget-reservations.js';

describe('budget scopes', () => {
  it('round-trips any team or route name through its key part, which has no space or |', () => {
    fc.assert(
      fc.property(fc.constantFrom('team' as const, 'route' as const), fc.string({ minLength: 1, maxLength: 40 }), (kind, name) => {
        const scope: BudgetScope = { kind, name };
        const part = scopeKeyPart(scope);
        assert.doesNotMatch(part, /[\s|]/);
        assert.deepEqual(parseScopeKeyPart(part), scope);
        assert.deepEqual(parseCounterId(counterId(part, 'day:2026-11-05')), { scope, period: 'day', periodId: '2026-11-05' });
      }),
    );
  });

  it('labels scopes as BudgetAlert.scope does', () => {
    assert.equal(scopeLabel({ kind: 'tenant' }), 'tenant');
    assert.equal(scopeLabel({ kind: 'team', name: 'search' }), 'team:search');
    assert.equal(scopeLabel({ kind: 'route', name: 'support-faq' }), 'route:support-faq');
  });

  it('names UTC day and month periods', () => {
    const lastMsOfNovember = Date.UTC(2026, 10, 30, 23, 59, 59, 999);
    assert.equal(periodKeyPart('day', lastMsOfNovember), 'day:2026-11-30');
    assert.deepEqual(periodParts(lastMsOfNovember + 1), ['day:2026-12-01', 'month:2026-12']);
    assert.deepEqual(recentPeriodParts(lastMsOfNovember + 1), ['day:2026-12-01', 'month:2026-12', 'day:2026-11-30', 'month:2026-11']);
    assert.deepEqual(recentPeriodParts(Date.UTC(2026, 10, 5)), ['day:2026-11-05', 'month:2026-11', 'day:2026-11-04']);
  });

  it('lists the scopes a request falls under and rejects malformed ids with every reason', () => {
    assert.deepEqual(requestScopes('tenant-a', '', null), [{ kind: 'tenant' }]);
    assert.deepEqual(requestScopes('tenant-a', 'search', 'faq'), [{ kind: 'tenant' }, { kind: 'team', name: 'search' }, { kind: 'route', name: 'faq' }]);
    assert.throws(
      () => requestScopes('Tenant A', 'x'.repeat(257), '\u0000'),
      (err: unknown) => err instanceof ValidationError && err.reasons.length === 3,
    );
    assert.throws(() => parseCounterId('tenant|week:2026-45'), ValidationError);
    assert.throws(() => parseScopeKeyPart('feature:x'), ValidationError);
  });
});
