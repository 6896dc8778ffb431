import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { type EventPublisher, deterministicEventId } from '@llmgov/kafka-runtime';
import { ValidationError } from '@llmgov/errors';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import { Topics, type BudgetAlert, type BudgetAlertLevel, type CostRecorded, type UsageRecorded } from '@llmgov/contracts';
import type { CostLedgerRepository, LedgerEntry, LedgerRecord } from '../repositories/cost-ledger.repository.js';
import type { BudgetStateRepository } from '../repositories/budget-state.repository.js';
import { CostAttributionService, costEventName } from './cost-attribution.service.js';
import type { BudgetSettlementService } from './budget-settlement.service.js';
import { CostMetrics } from './cost-metrics.js';
import { parsePriceCatalog } from './price-catalog.js';
import { RecordingPublisher } from '@llmgov/testing';

interface Rollup {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  micro: number;
}

/** In-memory cost_ledger + cost_rollups with the repository's exactly-once semantics (costs kept in micro-USD to stay exact). */
class FakeLedger {
  readonly ledger = new Map<string, LedgerEntry>();
  readonly rollups = new Map<string, Rollup>();
  failNextRecord = false;
  async record(e: LedgerEntry): Promise<LedgerRecord> {
    if (this.failNextRecord) {
      this.failNextRecord = false;
      throw new Error('postgres down');
    }
    const existing = this.ledger.get(e.usageEventId);
    if (existing)
      return {
        inserted: false,
        costUsd: existing.costUsd,
        costMicroUsd: Math.round(existing.costUsd * 1e6),
        priceCatalogVersion: existing.priceCatalogVersion,
      };
    this.ledger.set(e.usageEventId, e);
    const key = [e.tenantId, e.day, e.team, e.feature, e.model, e.tier].join('|');
    const r = this.rollups.get(key) ?? { requests: 0, prompt_tokens: 0, completion_tokens: 0, micro: 0 };
    this.rollups.set(key, {
      requests: r.requests + 1,
      prompt_tokens: r.prompt_tokens + e.promptTokens,
      completion_tokens: r.completion_tokens + e.completionTokens,
      micro: r.micro + Math.round(e.costUsd * 1e6),
    });
    return { inserted: true, costUsd: e.costUsd, costMicroUsd: Math.round(e.costUsd * 1e6), priceCatalogVersion: e.priceCatalogVersion };
  }
  async monthToDateMicroUsd(tenantId: string, month: string): Promise<number> {
    let micro = 0;
    for (const [key, r] of this.rollups) {
      const [tenant, day] = key.split('|');
      if (tenant === tenantId && day!.startsWith(month)) micro += r.micro;
    }
    return micro;
  }
}

class FakeBudgets {
  readonly spent = new Map<string, number>();
  readonly fired = new Set<string>();
  setCalls = 0;
  async setSpent(tenant: string, month: string, micro: number): Promise<void> {
    this.setCalls++;
    this.spent.set(`${tenant}:${month}`, micro);
  }
  async alertSent(tenant: string, month: string, level: BudgetAlertLevel): Promise<boolean> {
    return this.fired.has(`${tenant}:${month}:${level}`);
  }
  async markAlertSent(tenant: string, month: string, level: BudgetAlertLevel): Promise<boolean> {
    const k = `${tenant}:${month}:${level}`;
    if (this.fired.has(k)) return false;
    this.fired.add(k);
    return true;
  }
}

/** BudgetSettlementService's surface the attribution uses: the reservation lookup and the settle calls, recorded. */
class FakeSettlement {
  readonly settled: { usageEventId: string; reservationId: string; micro: number; costEventId: string; ledgerRowsAtSettle: number }[] = [];
  route = '';
  constructor(private readonly ledger: () => FakeLedger) {}
  async lookup(u: UsageRecorded): Promise<{ reservationId: string; route: string }> {
    return { reservationId: `job:${u.job_id}:1`, route: this.route };
  }
  async settle(u: UsageRecorded, reservationId: string, micro: number, costEventId: string): Promise<void> {
    this.settled.push({ usageEventId: u.event_id, reservationId, micro, costEventId, ledgerRowsAtSettle: this.ledger().ledger.size });
  }
}

const catalog = parsePriceCatalog(
  {
    version: 'cat-v1',
    currency: 'USD',
    models: {
      'local-sim-m': { kind: 'self_hosted', gpu_type: 'A100', usd_per_gpu_hour: 3.6 },
      'local-hashing-ngram': { kind: 'api', input_per_1m_tokens: 0.02, output_per_1m_tokens: 0 },
    },
    default: { kind: 'api', input_per_1m_tokens: 1, output_per_1m_tokens: 2 },
  },
  'test',
);

const NOV_5 = Date.UTC(2026, 10, 5, 12);
let seq = 0;
function usage(overrides: Partial<UsageRecorded> = {}): UsageRecorded {
  seq++;
  return {
    event_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    tenant_id: 'tenant-a',
    occurred_at: NOV_5,
    schema_version: 1,
    correlation_id: 'job-1',
    job_id: 'job-1',
    kind: 'COMPLETION',
    model: 'local-sim-m',
    tier: 'M',
    pool: 'pool-m',
    endpoint: 'http://127.0.0.1:18002',
    prompt_tokens: 500,
    completion_tokens: 100,
    gpu_seconds: 2, // 2 / 3600 * 3.6 = 0.002 USD
    team: 'search',
    feature: 'qa',
    route: 'rag',
    e2e_ms: 2000,
    queue_ms: null,
    ttft_ms: null,
    tpot_ms: null,
    gpu_type: null,
    usd_per_gpu_hour: null,
    policy_version: null,
    ...overrides,
  };
}

describe(CostAttributionService.name, () => {
  let publisher: RecordingPublisher;
  let ledger: FakeLedger;
  let budgets: FakeBudgets;
  let metrics: CostMetrics;
  let settlement: FakeSettlement;
  let sut: CostAttributionService;

  beforeEach(() => {
    publisher = new RecordingPublisher();
    ledger = new FakeLedger();
    budgets = new FakeBudgets();
    metrics = new CostMetrics({ registry: new Registry() } as unknown as PlatformMetrics);
    settlement = new FakeSettlement(() => ledger);
    sut = new CostAttributionService(
      { CATALOG_PATH: 'unused', TENANT_BUDGETS_USD: new Map([['tenant-a', 0.01]]) },
      catalog,
      ledger as unknown as CostLedgerRepository,
      budgets as unknown as BudgetStateRepository,
      publisher as unknown as EventPublisher,
      metrics,
      createLogger('cost-test', 'silent'),
      settlement as unknown as BudgetSettlementService,
    );
  });

  it('settles the reservation after the ledger commit, with the stored cost in micro-USD and the reserved route', async () => {
    settlement.route = 'support-faq';
    const u = usage();
    await sut.attribute(u);
    assert.equal(ledger.ledger.get(u.event_id)!.route, 'support-faq', 'the ledger row records the route reserved under');
    assert.deepEqual(settlement.settled, [
      {
        usageEventId: u.event_id,
        reservationId: 'job:job-1:1',
        micro: 2000,
        costEventId: deterministicEventId(costEventName(u.event_id)),
        ledgerRowsAtSettle: 1,
      },
    ]);
    // A redelivery settles again with the stored cost: BudgetReservations makes that a no-op per reservation id.
    await sut.attribute(u);
    assert.deepEqual(
      settlement.settled.map((x) => [x.reservationId, x.micro]),
      [
        ['job:job-1:1', 2000],
        ['job:job-1:1', 2000],
      ],
    );
  });

  it('a shadow copy (job shadow:<job id>, team shadow) is ledgered and published but settles nothing against any budget', async () => {
    settlement.route = 'squad-qa'; // what a lookup would answer: the copy must not look one up
    const u = usage({ job_id: 'shadow:job-1', correlation_id: 'shadow:job-1', team: 'shadow' });
    await sut.attribute(u);
    assert.equal(ledger.ledger.get(u.event_id)!.team, 'shadow', 'in the ledger and roll-ups under team shadow');
    assert.equal(ledger.ledger.get(u.event_id)!.route, '', 'no reservation looked up');
    assert.equal(settlement.settled.length, 0, 'no reservation settled and no budget counter charged');
    const [cost] = publisher.on<CostRecorded>(Topics.costRecorded);
    assert.equal(cost?.job_id, 'shadow:job-1');
    assert.equal(cost.team, 'shadow');
  });

  it('settles nothing when the ledger write fails', async () => {
    ledger.failNextRecord = true;
    await assert.rejects(sut.attribute(usage()), /postgres down/);
    assert.equal(settlement.settled.length, 0);
  });

  it('prices, accounts, publishes the cost record and sets the month-to-date spend', async () => {
    const u = usage();
    assert.deepEqual(await sut.attribute(u), { status: 'success' });
    const entry = ledger.ledger.get(u.event_id)!;
    assert.deepEqual(
      { cost: entry.costUsd, day: entry.day, team: entry.team, tier: entry.tier, version: entry.priceCatalogVersion },
      { cost: 0.002, day: '2026-11-05', team: 'search', tier: 'M', version: 'cat-v1' },
    );
    const [cost] = publisher.on<CostRecorded>(Topics.costRecorded);
    assert.equal(cost!.event_id, deterministicEventId(costEventName(u.event_id)));
    assert.deepEqual(
      {
        usage: cost!.usage_event_id,
        usd: cost!.cost_usd,
        day: cost!.day,
        route: cost!.route,
        version: cost!.price_catalog_version,
        corr: cost!.correlation_id,
      },
      { usage: u.event_id, usd: 0.002, day: '2026-11-05', route: 'rag', version: 'cat-v1', corr: 'job-1' },
    );
    assert.equal(publisher.sent[0]!.key, 'tenant-a');
    assert.equal(budgets.spent.get('tenant-a:2026-11'), 2000);
    assert.equal((await metrics.costUsd.get()).values[0]?.value, 0.002);
  });

  it('changes nothing when a usage event is redelivered (exactly-once accounting)', async () => {
    const u = usage();
    await sut.attribute(u);
    const rollupsBefore = structuredClone([...ledger.rollups]);
    assert.equal((await sut.attribute(u)).status, 'skipped');
    assert.deepEqual([...ledger.rollups], rollupsBefore);
    assert.equal(ledger.ledger.size, 1);
    assert.equal([...ledger.rollups.values()][0]!.requests, 1);
    assert.equal(budgets.spent.get('tenant-a:2026-11'), 2000);
    const costs = publisher.on<CostRecorded>(Topics.costRecorded);
    assert.equal(costs.length, 2, 'the cost record is republished so a crash after commit loses nothing');
    assert.equal(costs[0]!.event_id, costs[1]!.event_id);
    assert.equal(costs[0]!.cost_usd, costs[1]!.cost_usd);
    assert.equal((await metrics.costUsd.get()).values[0]?.value, 0.002, 'metrics count the event once');
  });

  it('publishes nothing when the ledger write fails, and accounts once on retry', async () => {
    const u = usage();
    ledger.failNextRecord = true;
    await assert.rejects(sut.attribute(u), /postgres down/);
    assert.equal(publisher.sent.length, 0);
    assert.equal(budgets.setCalls, 0);
    await sut.attribute(u);
    assert.equal(ledger.ledger.size, 1);
    assert.equal(budgets.spent.get('tenant-a:2026-11'), 2000);
  });

  it('rolls up several events and fires each budget alert once per month and level', async () => {
    // budget 0.01 USD; each event costs 0.002 USD -> 80 % after the 4th event, 100 % after the 5th
    for (let i = 0; i < 7; i++) await sut.attribute(usage());
    assert.equal([...ledger.rollups.values()][0]!.requests, 7);
    assert.equal(budgets.spent.get('tenant-a:2026-11'), 14_000);
    const alerts = publisher.on<BudgetAlert>(Topics.budgetAlert);
    assert.deepEqual(
      alerts.map((a) => a.level),
      ['WARN_80', 'EXCEEDED_100'],
    );
    assert.deepEqual(
      { scope: alerts[0]!.scope, period: alerts[0]!.period, budget: alerts[0]!.budget_usd, spent: alerts[0]!.spent_usd, ratio: alerts[0]!.ratio },
      { scope: 'tenant', period: '2026-11', budget: 0.01, spent: 0.008, ratio: 0.8 },
    );
    assert.equal(alerts[1]!.ratio, 1);
    assert.notEqual(alerts[0]!.event_id, alerts[1]!.event_id);
  });

  it('fires both levels when one event jumps past 100 %, and again in the next month', async () => {
    await sut.attribute(usage({ gpu_seconds: 20 })); // 0.02 USD = 200 %
    await sut.attribute(usage({ gpu_seconds: 20, occurred_at: Date.UTC(2026, 11, 1) }));
    const alerts = publisher.on<BudgetAlert>(Topics.budgetAlert);
    assert.deepEqual(
      alerts.map((a) => `${a.period}:${a.level}`),
      ['2026-11:WARN_80', '2026-11:EXCEEDED_100', '2026-12:WARN_80', '2026-12:EXCEEDED_100'],
    );
    assert.equal(budgets.spent.get('tenant-a:2026-12'), 20_000);
  });

  it('republishes an alert with the same id when the fire-once marker was not written', async () => {
    await sut.attribute(usage({ gpu_seconds: 8 })); // 0.008 USD = 80 %
    budgets.fired.clear(); // as if the process died between publish and SET NX
    await sut.attribute(usage({ gpu_seconds: 0 }));
    const alerts = publisher.on<BudgetAlert>(Topics.budgetAlert);
    assert.equal(alerts.length, 2);
    assert.equal(alerts[0]!.event_id, alerts[1]!.event_id);
  });

  it('sends no alerts to tenants without a budget', async () => {
    await sut.attribute(usage({ tenant_id: 'tenant-b', gpu_seconds: 3600 }));
    assert.equal(publisher.on(Topics.budgetAlert).length, 0);
    assert.equal(budgets.spent.get('tenant-b:2026-11'), 3_600_000);
  });

  it('prices an unknown model with the default, counts it, and never drops the event', async () => {
    await sut.attribute(usage({ model: 'mystery-model', prompt_tokens: 1000, completion_tokens: 500, tenant_id: 'tenant-b' }));
    const [cost] = publisher.on<CostRecorded>(Topics.costRecorded);
    assert.equal(cost!.cost_usd, 0.002); // 1000/1e6*1 + 500/1e6*2
    assert.equal(cost!.model, 'mystery-model');
    assert.equal((await metrics.unknownModel.get()).values[0]?.value, 1);
    assert.deepEqual((await metrics.costUsd.get()).values[0]?.labels, { tenant: 'tenant-b', model: 'default' });
  });

  it('stores absent attribution as empty strings and publishes them as null', async () => {
    const u = usage({
      kind: 'EMBEDDING',
      model: 'local-hashing-ngram',
      tier: null,
      team: null,
      feature: null,
      job_id: null,
      prompt_tokens: 50_000,
      gpu_seconds: 0,
      tenant_id: 'tenant-b',
    });
    await sut.attribute(u);
    const entry = ledger.ledger.get(u.event_id)!;
    assert.deepEqual([entry.team, entry.feature, entry.tier, entry.jobId], ['', '', '', null]);
    const [cost] = publisher.on<CostRecorded>(Topics.costRecorded);
    assert.deepEqual([cost!.team, cost!.feature, cost!.tier, cost!.job_id, cost!.cost_usd], [null, null, null, null, 0.001]);
  });

  it('dead-letters unusable usage with every reason', async () => {
    const bad = usage({ tenant_id: "x'; DROP TABLE cost_ledger;--", prompt_tokens: -1, completion_tokens: 1.5, gpu_seconds: Number.NaN, model: '' });
    await assert.rejects(sut.attribute(bad), (err: unknown) => err instanceof ValidationError && err.reasons.length === 5);
    assert.equal(ledger.ledger.size, 0);
    assert.equal(publisher.sent.length, 0);
  });
});
