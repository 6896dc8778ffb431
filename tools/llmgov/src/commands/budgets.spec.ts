import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import type { CounterState } from '@llmgov/persistence';
import { budgetRows, formatBudgetsTable, parseTenant, parseUsd, scopeOf } from './budgets.js';

const counter = (scope: CounterState['scope'], period: 'day' | 'month', spent: number, reserved: number, exists = true): CounterState => ({
  counter: 'unused',
  scope,
  period,
  periodId: period === 'day' ? '2026-11-05' : '2026-11',
  spentMicroUsd: spent,
  reservedMicroUsd: reserved,
  exists,
});

describe('budgets show rows', () => {
  it('joins counters and limits, computes remaining and the alert state, and orders tenant, teams, routes', () => {
    const rows = budgetRows(
      [
        counter({ kind: 'route', name: 'faq' }, 'month', 900_000, 0),
        counter({ kind: 'tenant' }, 'month', 1_000_000, 0),
        counter({ kind: 'team', name: 'search' }, 'day', 0, 0, false),
        counter({ kind: 'tenant' }, 'day', 790_000, 300_000),
        counter({ kind: 'team', name: 'ads' }, 'day', 0, 0, false),
      ],
      [
        { scope: { kind: 'tenant' }, period: 'day', limitMicroUsd: 1_000_000, origin: { kind: 'policy', namespace: 'default', version: 3 } },
        {
          scope: { kind: 'route', name: 'faq' },
          period: 'month',
          limitMicroUsd: 1_000_000,
          alertAt: 0.9,
          throttle: 'refuse',
          origin: { kind: 'override', shadows: { namespace: 'default', version: 3, limitMicroUsd: 5_000_000 } },
        },
        { scope: { kind: 'team', name: 'search' }, period: 'day', limitMicroUsd: 2_000_000, origin: { kind: 'override', shadows: null } },
      ],
    );
    const policy = { limit_source: 'policy', policy_version: 3, policy_limit_usd: null, alert_at: 0.8, throttle: 'degrade' } as const;
    const none = { limit_source: null, policy_version: null, policy_limit_usd: null, alert_at: null, throttle: null };
    assert.deepEqual(rows, [
      {
        scope: 'tenant',
        period: 'day',
        period_id: '2026-11-05',
        limit_usd: 1,
        spent_usd: 0.79,
        reserved_usd: 0.3,
        remaining_usd: 0,
        budget_alert: 'OK',
        ...policy,
      },
      {
        scope: 'tenant',
        period: 'month',
        period_id: '2026-11',
        limit_usd: null,
        spent_usd: 1,
        reserved_usd: 0,
        remaining_usd: null,
        budget_alert: null,
        ...none,
      },
      {
        scope: 'team:search',
        period: 'day',
        period_id: '2026-11-05',
        limit_usd: 2,
        spent_usd: 0,
        reserved_usd: 0,
        remaining_usd: 2,
        budget_alert: 'OK',
        limit_source: 'override',
        policy_version: null,
        policy_limit_usd: null,
        alert_at: 0.8,
        throttle: 'degrade',
      },
      {
        scope: 'route:faq',
        period: 'month',
        period_id: '2026-11',
        limit_usd: 1,
        spent_usd: 0.9,
        reserved_usd: 0,
        remaining_usd: 0.1,
        budget_alert: 'WARN_80',
        limit_source: 'override',
        policy_version: 3,
        policy_limit_usd: 5,
        alert_at: 0.9,
        throttle: 'refuse',
      },
    ]);
    const table = formatBudgetsTable({
      tenant: 't',
      at: '',
      day: '2026-11-05',
      month: '2026-11',
      held_reservations: 2,
      policy: { namespace: 'default', version: 3 },
      budgets: rows,
    });
    assert.match(table, /^tenant t: day 2026-11-05, month 2026-11 \(UTC\); 2 reservation\(s\) held; policy default v3\nSCOPE +PERIOD +LIMIT_USD/);
    assert.match(table, /\ntenant +2026-11-05 +1\.000000 +0\.790000 +0\.300000 +0\.000000 +OK +degrade +policy v3\n/);
    assert.match(table, /\nteam:search +2026-11-05 +2\.000000 .* OK +degrade +override\n/);
    assert.match(table, /\nroute:faq +2026-11 +1\.000000 +0\.900000 +0\.000000 +0\.100000 +WARN_80 +refuse +override \(policy v3: 5\.000000\)\n$/);
  });
});

describe('budgets options', () => {
  it('parses amounts, tenants and the one scope, and refuses bad ones with a reason', () => {
    assert.equal(parseUsd('12.5'), 12.5);
    for (const bad of ['', '-1', 'abc', 'Infinity', '1e20']) assert.throws(() => parseUsd(bad), InvalidArgumentError);
    assert.equal(parseTenant('tenant-a'), 'tenant-a');
    assert.throws(() => parseTenant('Tenant A'), InvalidArgumentError);
    assert.deepEqual(scopeOf('t', undefined, undefined), { kind: 'tenant' });
    assert.deepEqual(scopeOf('t', 'search', undefined), { kind: 'team', name: 'search' });
    assert.deepEqual(scopeOf('t', undefined, 'faq'), { kind: 'route', name: 'faq' });
    assert.throws(() => scopeOf('t', 'a', 'b'), /one scope/);
    assert.throws(() => scopeOf('t', '', undefined), /need a name/);
    assert.throws(() => scopeOf('t', 'x'.repeat(300), undefined), /1-256 characters/);
  });
});
