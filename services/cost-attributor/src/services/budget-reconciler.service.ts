import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@llmgov/observability';
import { billingDay, microUsdToUsd, type BudgetPeriodKind } from '@llmgov/billing';
import { BudgetReservations, counterId, parseCounterId, recentPeriodParts, scopeKeyPart, type BudgetScope } from '@llmgov/persistence';
import { COST_CONFIG, type CostConfig } from '../config.js';
import { CostLedgerRepository, type ScopeSpend } from '../repositories/cost-ledger.repository.js';
import { CostMetrics } from './cost-metrics.js';

const DAY_MS = 86_400_000;

/** What one reconciliation pass found and did. */
export interface ReconcileReport {
  tenants: number;
  /** Reserved counters recounted from the held reservations (phantom amounts removed). */
  reservedFixes: { tenant: string; counter: string; wasMicroUsd: number; nowMicroUsd: number }[];
  /** Spent counters set to the ledger's value. */
  repaired: { tenant: string; counter: string; wasMicroUsd: number; ledgerMicroUsd: number }[];
  /** Spent counters that differ from the ledger for the first time, or differently than last pass: repaired next pass if the same. */
  suspected: { tenant: string; counter: string; observedMicroUsd: number; ledgerMicroUsd: number }[];
}

const scopeOf = (s: ScopeSpend): BudgetScope => (s.kind === 'tenant' ? { kind: 'tenant' } : { kind: s.kind, name: s.name });

/**
 * The budget reconciliation loop (ADR 0007): every `BUDGET_RECONCILE_INTERVAL_MS`, for each tenant with budget state
 * or recent spend, and for today, yesterday, this month and yesterday's month:
 * 1. recounts the reserved counters from the held reservations (after sweeping expired leases): phantom reserved
 *    money is removed;
 * 2. compares each spent counter (tenant, team, route) with the ledger's roll-ups (`cost_micro_usd`, the ledger is
 *    the truth) and repairs a difference seen the same on two passes in a row, by compare-and-set against the value
 *    it read before querying the ledger. The two passes keep it from "repairing" a bill that is committed to the
 *    ledger but not yet settled in Redis (a window of milliseconds, or a crash until redelivery); the compare-and-set
 *    makes it a no-op when a settlement ran meanwhile, so a repair never undoes a charge it did not see.
 * Instances may run it at once: each repair is a compare-and-set, so two reconcilers cannot double-apply one.
 */
@Injectable()
export class BudgetReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Differences seen on the last pass, by `<tenant> <counter>`. */
  private readonly suspects = new Map<string, { observed: string; ledger: number }>();

  constructor(
    @Inject(COST_CONFIG) private readonly config: CostConfig,
    private readonly reservations: BudgetReservations,
    private readonly ledger: CostLedgerRepository,
    private readonly metrics: CostMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.BUDGET_RECONCILE_INTERVAL_MS ?? 0;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running ??= this.reconcileOnce()
      .then(() => {
        this.metrics.reconcilePasses.inc({ outcome: 'ok' });
        this.metrics.reconcileLastSuccess.set(Date.now() / 1000);
      })
      .catch((err: unknown) => {
        this.metrics.reconcilePasses.inc({ outcome: 'failed' });
        this.logger.warn({ error: (err as Error).message }, 'budget reconciliation failed; retrying at the next pass');
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * One pass over every tenant (see the class doc).
   * @param now epoch ms deciding which periods are recent (default: now)
   * @throws RetriableError when Redis or Postgres is unreachable (the loop logs it and tries at the next pass).
   */
  async reconcileOnce(now: number = Date.now()): Promise<ReconcileReport> {
    const tenants = [...new Set([...(await this.reservations.tenants()), ...(await this.ledger.tenantsWithSpendSince(billingDay(now - DAY_MS)))])].sort();
    const report: ReconcileReport = { tenants: tenants.length, reservedFixes: [], repaired: [], suspected: [] };
    const seen = new Set<string>();
    for (const tenant of tenants) {
      for (const fix of await this.reservations.recountReserved(tenant)) {
        report.reservedFixes.push({ tenant, ...fix });
        this.metrics.reservedRecountedUsd.inc(microUsdToUsd(Math.abs(fix.wasMicroUsd - fix.nowMicroUsd)));
        this.logger.warn(
          { tenant_id: tenant, counter: fix.counter, was_micro_usd: fix.wasMicroUsd, now_micro_usd: fix.nowMicroUsd },
          'reserved budget recounted',
        );
      }
      const periods = recentPeriodParts(now);
      // Read Redis before the ledger: the compare-and-set below is against these values.
      const snapshot = await this.reservations.snapshot(tenant, { periods });
      const observed = await this.reservations.readSpent(
        tenant,
        snapshot.counters.filter((c) => c.exists).map((c) => c.counter),
      );
      const ledger = new Map<string, number>();
      for (const period of periods) {
        const [kind, id] = period.split(':') as [BudgetPeriodKind, string];
        for (const s of await this.ledger.spendByScope(tenant, kind, id)) ledger.set(counterId(scopeKeyPart(scopeOf(s)), period), s.microUsd);
      }
      for (const counter of new Set([...observed.keys(), ...ledger.keys()])) {
        const seenValue = observed.get(counter) ?? '';
        const want = ledger.get(counter) ?? 0;
        const key = `${tenant} ${counter}`;
        if (Number(seenValue || 0) === want) {
          this.suspects.delete(key);
          continue;
        }
        seen.add(key);
        const before = this.suspects.get(key);
        if (!before || before.observed !== seenValue || before.ledger !== want) {
          this.suspects.set(key, { observed: seenValue, ledger: want });
          report.suspected.push({ tenant, counter, observedMicroUsd: Number(seenValue || 0), ledgerMicroUsd: want });
          continue;
        }
        this.suspects.delete(key);
        if ((await this.reservations.repairSpent(tenant, counter, seenValue, want)) !== 'repaired') continue;
        const was = Number(seenValue || 0);
        const labels = { scope: parseCounterId(counter).scope.kind, direction: want > was ? 'up' : 'down' };
        this.metrics.driftRepairs.inc(labels);
        this.metrics.driftRepairedUsd.inc(labels, microUsdToUsd(Math.abs(want - was)));
        report.repaired.push({ tenant, counter, wasMicroUsd: was, ledgerMicroUsd: want });
        this.logger.warn({ tenant_id: tenant, counter, was_micro_usd: was, ledger_micro_usd: want }, 'budget spent counter repaired to the ledger');
      }
    }
    for (const key of this.suspects.keys()) if (!seen.has(key)) this.suspects.delete(key);
    return report;
  }
}
