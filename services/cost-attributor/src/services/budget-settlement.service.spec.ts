import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { deterministicEventId, type EventPublisher } from '@llmgov/kafka-runtime';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import { Topics, type BudgetAlert, type JobStatusChanged, type UsageRecorded } from '@llmgov/contracts';
import { PolicyBudgetLimits, StaticBudgetLimits, type BudgetReservations, type SettleRequest, type SettleResult } from '@llmgov/persistence';
import { RecordingPublisher } from '@llmgov/testing';
import type { BudgetStateRepository } from '../repositories/budget-state.repository.js';
import { BudgetSettlementService, scopeAlertEventName } from './budget-settlement.service.js';
import { CostMetrics } from './cost-metrics.js';

/** BudgetReservations' settle/release surface: settle answers the counters it is told to, and calls are recorded. */
class FakeReservations {
  next: SettleResult = { status: 'settled', from: 'held', counters: [] };
  settles: SettleRequest[] = [];
  calls: string[] = [];
  async settle(req: SettleRequest): Promise<SettleResult> {
    this.settles.push(req);
    return this.next;
  }
  async releaseJob(tenant: string, job: string): Promise<number> {
    this.calls.push(`release ${tenant} ${job}`);
    return 1;
  }
  async shortenJobLeases(tenant: string, job: string, graceMs: number): Promise<number> {
    this.calls.push(`shorten ${tenant} ${job} ${graceMs}`);
    return 1;
  }
}

class FakeMarkers {
  readonly fired = new Set<string>();
  async scopeAlertSent(t: string, c: string, l: string): Promise<boolean> {
    return this.fired.has(`${t} ${c} ${l}`);
  }
  async markScopeAlertSent(t: string, c: string, l: string): Promise<boolean> {
    const k = `${t} ${c} ${l}`;
    if (this.fired.has(k)) return false;
    this.fired.add(k);
    return true;
  }
}

const usage = { event_id: '00000000-0000-4000-8000-000000000001', tenant_id: 'tenant-a', occurred_at: Date.UTC(2026, 10, 5), team: 'search' } as UsageRecorded;
const spent = (counter: string, spentMicroUsd: number) => {
  const [scope, period] = counter.split('|') as [string, string];
  const [kind, periodId] = period.split(':') as ['day' | 'month', string];
  return {
    counter,
    scope: scope === 'tenant' ? { kind: 'tenant' as const } : { kind: scope.split(':')[0] as 'team', name: scope.split(':')[1]! },
    period: kind,
    periodId,
    spentMicroUsd,
  };
};

describe(BudgetSettlementService.name, () => {
  let reservations: FakeReservations;
  let publisher: RecordingPublisher;
  let markers: FakeMarkers;
  let metrics: CostMetrics;
  let sut: BudgetSettlementService;

  beforeEach(() => {
    reservations = new FakeReservations();
    publisher = new RecordingPublisher();
    markers = new FakeMarkers();
    metrics = new CostMetrics({ registry: new Registry() } as unknown as PlatformMetrics);
    const limits = new StaticBudgetLimits([
      { tenant: 'tenant-a', scope: { kind: 'tenant' }, period: 'day', limitMicroUsd: 10_000 },
      { tenant: 'tenant-a', scope: { kind: 'team', name: 'search' }, period: 'month', limitMicroUsd: 100_000 },
    ]);
    sut = new BudgetSettlementService(
      { CATALOG_PATH: 'unused', TENANT_BUDGETS_USD: new Map(), BUDGET_COMPLETED_GRACE_MS: 30_000 },
      reservations as unknown as BudgetReservations,
      limits,
      markers as unknown as BudgetStateRepository,
      publisher as unknown as EventPublisher,
      metrics,
      createLogger('settle-test', 'silent'),
    );
  });

  it("settles with the bill's day and the usage's team for an unreserved charge", async () => {
    await sut.settle(usage, 'usage:x', 1_234, 'cost-1');
    assert.deepEqual(reservations.settles, [
      { tenant: 'tenant-a', reservationId: 'usage:x', actualMicroUsd: 1_234, at: usage.occurred_at, unreserved: { team: 'search' } },
    ]);
  });

  it('raises 80 % and 100 % alerts once per budget with a limit, and republishes the same id when the marker was lost', async () => {
    reservations.next = {
      status: 'settled',
      from: 'held',
      counters: [spent('tenant|day:2026-11-05', 8_000), spent('tenant|month:2026-11', 999_999), spent('team:search|month:2026-11', 100_000)],
    };
    await sut.settle(usage, 'job:j:1', 1, 'cost-1');
    const alerts = publisher.on<BudgetAlert>(Topics.budgetAlert);
    assert.deepEqual(
      alerts.map((a) => [a.scope, a.period, a.level, a.ratio]),
      [
        ['tenant', '2026-11-05', 'WARN_80', 0.8],
        ['team:search', '2026-11', 'WARN_80', 1],
        ['team:search', '2026-11', 'EXCEEDED_100', 1],
      ],
      'the tenant month has no limit: no alert',
    );
    assert.equal(alerts[0]!.event_id, deterministicEventId(scopeAlertEventName('tenant-a', 'tenant|day:2026-11-05', 'WARN_80')));
    assert.equal(alerts[0]!.correlation_id, 'cost-1');
    // A redelivered bill (already settled) reads the same counters: nothing new is published.
    reservations.next = { status: 'already_settled', actualMicroUsd: 1, counters: reservations.next.counters };
    await sut.settle(usage, 'job:j:1', 1, 'cost-1');
    assert.equal(publisher.on(Topics.budgetAlert).length, 3);
    // Lost fire-once marker (a crash between publish and SET NX): the same event id again, never a new one.
    markers.fired.delete('tenant-a tenant|day:2026-11-05 WARN_80');
    await sut.settle(usage, 'job:j:1', 1, 'cost-1');
    const again = publisher.on<BudgetAlert>(Topics.budgetAlert);
    assert.equal(again.length, 4);
    assert.equal(again[3]!.event_id, alerts[0]!.event_id);
    assert.deepEqual(
      (await metrics.scopeAlerts.get()).values.map((v) => [v.labels.scope, v.labels.period, v.labels.level, v.value]),
      [
        ['tenant', 'day', 'WARN_80', 2],
        ['team', 'month', 'WARN_80', 1],
        ['team', 'month', 'EXCEEDED_100', 1],
      ],
    );
  });

  it("warns at the policy budget's alert_at, not at 80 %", async () => {
    const policy = new PolicyBudgetLimits();
    policy.apply({
      namespace: 'default',
      version: 3,
      document: { budgets: [{ tenant: 'tenant-a', period: 'day', limit_usd: 0.01, alert_at: 0.9, throttle: 'refuse' }] },
    });
    const withPolicy = new BudgetSettlementService(
      { CATALOG_PATH: 'unused', TENANT_BUDGETS_USD: new Map() },
      reservations as unknown as BudgetReservations,
      policy,
      markers as unknown as BudgetStateRepository,
      publisher as unknown as EventPublisher,
      metrics,
      createLogger('settle-test', 'silent'),
    );
    reservations.next = { status: 'settled', from: 'held', counters: [spent('tenant|day:2026-11-05', 8_999)] };
    await withPolicy.settle(usage, 'job:j:1', 1, 'cost-1');
    assert.equal(publisher.on(Topics.budgetAlert).length, 0, '89.99 % of a budget that warns at 90 %');
    reservations.next = { status: 'settled', from: 'held', counters: [spent('tenant|day:2026-11-05', 9_000)] };
    await withPolicy.settle(usage, 'job:j:2', 1, 'cost-2');
    assert.deepEqual(
      publisher.on<BudgetAlert>(Topics.budgetAlert).map((a) => [a.scope, a.level, a.ratio, a.budget_usd]),
      [['tenant', 'WARN_80', 0.9, 0.01]],
    );
  });

  it('releases on failed, expired and cancelled; shortens the lease on completed; ignores other states and bad ids', async () => {
    const ev = (state: JobStatusChanged['state'], job = 'job-1', tenant = 'tenant-a') => ({ tenant_id: tenant, job_id: job, state }) as JobStatusChanged;
    for (const s of ['failed', 'expired', 'cancelled', 'completed', 'in_progress', 'finalizing'] as const) await sut.releaseOnTerminal(ev(s));
    assert.equal((await sut.releaseOnTerminal(ev('failed', 'job 1'))).status, 'skipped');
    assert.equal((await sut.releaseOnTerminal(ev('failed', 'job-1', 'Tenant A'))).status, 'skipped');
    assert.deepEqual(reservations.calls, ['release tenant-a job-1', 'release tenant-a job-1', 'release tenant-a job-1', 'shorten tenant-a job-1 30000']);
  });
});
