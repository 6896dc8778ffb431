import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplayInputError } from './errors.js';
import { checkFilter, matchesFilter, recordFacts } from './filter.js';
import { ReplayHeaders, effectKey } from './headers.js';

describe('record filter', () => {
  it('matches by tenant and route; a route filter never matches a record without a route', () => {
    const v = recordFacts({ event_id: 'e1', tenant_id: 'tenant-a', route: 'squad-qa' });
    assert.equal(matchesFilter(v, {}), true);
    assert.equal(matchesFilter(v, { tenant: 'tenant-a' }), true);
    assert.equal(matchesFilter(v, { tenant: 'tenant-b' }), false);
    assert.equal(matchesFilter(v, { tenant: 'tenant-a', route: 'squad-qa' }), true);
    assert.equal(matchesFilter(v, { route: 'support-faq' }), false);
    assert.equal(matchesFilter(recordFacts({ event_id: 'e2', tenant_id: 'tenant-a', route: null }), { route: 'squad-qa' }), false);
    assert.equal(matchesFilter(recordFacts(null), { tenant: 'tenant-a' }), false);
  });

  it('agrees with a direct comparison for any record and filter', () => {
    const id = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(id, fc.option(id), fc.option(id), fc.option(id), (tenant, route, ft, fr) => {
        const facts = recordFacts({ event_id: 'x', tenant_id: tenant, route });
        const filter = { tenant: ft ?? undefined, route: fr ?? undefined };
        const expected = (ft === null || ft === tenant) && (fr === null || fr === route);
        assert.equal(matchesFilter(facts, filter), expected);
      }),
    );
  });

  it('refuses a bad tenant id, a bad route name, and --route on a topic without routes', () => {
    const fields = ['event_id', 'tenant_id', 'route'];
    assert.throws(
      () => checkFilter({ tenant: 'Tenant A' }, 't', fields),
      (e: unknown) => e instanceof ReplayInputError && e.code === 'invalid_filter',
    );
    assert.throws(() => checkFilter({ route: 'a b' }, 't', fields), ReplayInputError);
    assert.throws(() => checkFilter({ route: 'squad-qa' }, 'billing.usage.recorded.v1', ['event_id', 'tenant_id']), /carry no route field/);
    checkFilter({ tenant: 'tenant-a', route: 'squad-qa' }, 't', fields);
  });
});

describe('effectKey', () => {
  it('is the original event id, else the envelope id, with the requested version appended', () => {
    assert.equal(effectKey({}, 'e1'), 'e1');
    assert.equal(effectKey({ [ReplayHeaders.originEventId]: 'orig' }, 'e1'), 'orig');
    assert.equal(effectKey({ [ReplayHeaders.originEventId]: 'orig', [ReplayHeaders.version]: 'v2' }, 'e1'), 'orig@v2');
  });
});
