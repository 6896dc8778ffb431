import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import type { BudgetReservations, CounterState } from '@llmgov/persistence';
import type { CostLedgerRepository, ScopeSpend } from '../repositories/cost-ledger.repository.js';
import { BudgetReconciler } from './budget-reconciler.service.js';
import { CostMetrics } from './cost-metrics.js';
import { deterministicEventId } from '@llmgov/kafka-runtime';
import { reservationIdOf } from './budget-settlement.service.js';

/** 2026-11-05 12:00 UTC: recent periods are 2026-11-05, 2026-11-04 and 2026-11. */
const NOW = Date.UTC(2026, 10, 5, 12);

/** The Redis side: spent values per counter of one tenant; repairSpent is a compare-and-set on them. */
class FakeReservations {
  spent = new Map<string, string>();
  recounts: { counter: string; wasMicroUsd: number; nowMicroUsd: number }[] = [];
  /** Called between readSpent and repairSpent: a settlement landing while the reconciler queries the ledger. */
  onRepair: (() => void) | undefined;
  repairs: [string, string, number][] = [];

  async tenants(): Promise<string[]> {
    return ['tenant-a'];
  }
  async recountReserved(): Promise<{ counter: string; wasMicroUsd: number; nowMicroUsd: number }[]> {
    const r = this.recounts;
    this.recounts = [];
    return r;
  }
  async snapshot(): Promise<{ counters: CounterState[]; held: number }> {
    return {
      counters: [...this.spent.keys()].map((counter) => ({ counter, exists: true }) as CounterState),
      held: 0,
    };
  }
  async readSpent(_tenant: string, counters: readonly string[]): Promise<Map<string, string>> {
    return new Map(counters.map((c) => [c, this.spent.get(c) ?? '']));
  }
  async repairSpent(_tenant: string, counter: string, observed: string, ledger: number): Promise<'repaired' | 'changed'> {
    this.onRepair?.();
    this.repairs.push([counter, observed, ledger]);
    if ((this.spent.get(counter) ?? '') !== observed) return 'changed';
    this.spent.set(counter, String(ledger));
    return 'repaired';
  }
}

/** The ledger side: spend per scope for the day 2026-11-05 and the month 2026-11. */
class FakeLedger {
  day: ScopeSpend[] = [];
  month: ScopeSpend[] = [];
  async tenantsWithSpendSince(): Promise<string[]> {
    return ['tenant-a'];
  }
  async spendByScope(_tenant: string, period: 'day' | 'month', id: string): Promise<ScopeSpend[]> {
    if (period === 'day') return id === '2026-11-05' ? this.day : [];
    return id === '2026-11' ? this.month : [];
  }
}

describe(BudgetReconciler.name, () => {
  let redis: FakeReservations;
  let ledger: FakeLedger;
  let metrics: CostMetrics;
  let sut: BudgetReconciler;

  beforeEach(() => {
    redis = new FakeReservations();
    ledger = new FakeLedger();
    metrics = new CostMetrics({ registry: new Registry() } as unknown as PlatformMetrics);
    sut = new BudgetReconciler(
      { CATALOG_PATH: 'unused', TENANT_BUDGETS_USD: new Map(), BUDGET_RECONCILE_INTERVAL_MS: 0 },
      redis as unknown as BudgetReservations,
      ledger as unknown as CostLedgerRepository,
      metrics,
      createLogger('reconcile-test', 'silent'),
    );
  });

  const agree = () => {
    redis.spent.set('tenant|day:2026-11-05', '500');
    redis.spent.set('tenant|month:2026-11', '900');
    ledger.day = [{ kind: 'tenant', name: '', microUsd: 500 }];
    ledger.month = [{ kind: 'tenant', name: '', microUsd: 900 }];
  };

  it('changes nothing when the counters equal the ledger', async () => {
    agree();
    const r = await sut.reconcileOnce(NOW);
    assert.deepEqual([r.suspected, r.repaired, redis.repairs], [[], [], []]);
  });

  it('repairs a drift seen the same on two passes, in both directions, and counts it', async () => {
    agree();
    redis.spent.set('tenant|day:2026-11-05', '1500'); // drifted above the ledger
    redis.spent.delete('tenant|month:2026-11'); // lost (e.g. a Redis restart without persistence)
    ledger.day.push({ kind: 'team', name: 'search', microUsd: 200 }); // never counted in Redis
    const first = await sut.reconcileOnce(NOW);
    assert.equal(first.suspected.length, 3);
    assert.deepEqual(first.repaired, [], 'one sighting is not enough: the bill may be in flight');
    const second = await sut.reconcileOnce(NOW);
    assert.deepEqual(second.repaired.map((x) => [x.counter, x.wasMicroUsd, x.ledgerMicroUsd]).sort(), [
      ['team:search|day:2026-11-05', 0, 200],
      ['tenant|day:2026-11-05', 1500, 500],
      ['tenant|month:2026-11', 0, 900],
    ]);
    assert.equal(redis.spent.get('tenant|day:2026-11-05'), '500');
    assert.equal(redis.spent.get('team:search|day:2026-11-05'), '200');
    const repaired = (await metrics.driftRepairedUsd.get()).values.map((v) => [v.labels.scope, v.labels.direction, Math.round(v.value * 1e6)]).sort();
    assert.deepEqual(repaired, [
      ['team', 'up', 200],
      ['tenant', 'down', 1000],
      ['tenant', 'up', 900],
    ]);
    assert.deepEqual((await sut.reconcileOnce(NOW)).suspected, [], 'repaired: nothing left');
  });

  it('does not repair a difference that moved between passes (a settlement in flight)', async () => {
    agree();
    ledger.day = [{ kind: 'tenant', name: '', microUsd: 700 }]; // committed to the ledger, not yet settled in Redis
    await sut.reconcileOnce(NOW);
    redis.spent.set('tenant|day:2026-11-05', '700'); // the settlement lands
    ledger.day = [{ kind: 'tenant', name: '', microUsd: 800 }]; // and the next bill is committed
    const r = await sut.reconcileOnce(NOW);
    assert.deepEqual(r.repaired, []);
    assert.deepEqual(redis.repairs, []);
  });

  it('leaves the counter alone when a settlement runs between its read and the compare-and-set', async () => {
    agree();
    redis.spent.set('tenant|day:2026-11-05', '450');
    await sut.reconcileOnce(NOW);
    redis.onRepair = () => redis.spent.set('tenant|day:2026-11-05', '650');
    const r = await sut.reconcileOnce(NOW);
    assert.deepEqual(r.repaired, []);
    assert.equal(redis.spent.get('tenant|day:2026-11-05'), '650', 'the settled bill is kept');
  });

  it('reports reserved recounts (phantom reservations) in the metric', async () => {
    agree();
    redis.recounts = [{ counter: 'tenant|day:2026-11-05', wasMicroUsd: 1_077, nowMicroUsd: 300 }];
    const r = await sut.reconcileOnce(NOW);
    assert.equal(r.reservedFixes.length, 1);
    assert.equal(Math.round(((await metrics.reservedRecountedUsd.get()).values[0]?.value ?? 0) * 1e6), 777);
  });
});

describe('reservationIdOf', () => {
  it("recovers a job attempt's reservation id from the worker's deterministic usage event id", () => {
    const job = '6f1c2d3e-0000-4000-8000-000000000001';
    assert.equal(reservationIdOf({ event_id: deterministicEventId(job, '1', 'usage'), job_id: job, kind: 'COMPLETION' }), `job:${job}:1`);
    assert.equal(reservationIdOf({ event_id: deterministicEventId(job, '3', 'usage'), job_id: job, kind: 'COMPLETION' }), `job:${job}:3`);
  });

  it("recovers a job attempt's LLM-judge reservation from the judge's usage event id, and only for kind JUDGE", () => {
    const job = '6f1c2d3e-0000-4000-8000-000000000002';
    assert.equal(reservationIdOf({ event_id: deterministicEventId(job, '1', 'judge-usage'), job_id: job, kind: 'JUDGE' }), `judge:${job}:1`);
    assert.equal(reservationIdOf({ event_id: deterministicEventId(job, '2', 'judge-usage'), job_id: job, kind: 'JUDGE' }), `judge:${job}:2`);
    const workerId = deterministicEventId(job, '1', 'usage');
    assert.equal(reservationIdOf({ event_id: workerId, job_id: job, kind: 'JUDGE' }), `usage:${workerId}`, "the worker's scheme is not the judge's");
    const judgeId = deterministicEventId(job, '1', 'judge-usage');
    assert.equal(reservationIdOf({ event_id: judgeId, job_id: job, kind: 'COMPLETION' }), `usage:${judgeId}`);
  });

  it('makes any other usage a direct charge under its own event id', () => {
    const id = '00000000-0000-4000-8000-000000000009';
    assert.equal(reservationIdOf({ event_id: id, job_id: null, kind: 'EMBEDDING' }), `usage:${id}`);
    assert.equal(reservationIdOf({ event_id: id, job_id: 'job-1', kind: 'COMPLETION' }), `usage:${id}`, 'an id the worker did not derive');
  });
});
