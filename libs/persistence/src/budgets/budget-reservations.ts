import type { Redis } from 'ioredis';
import { ValidationError } from '@llmgov/errors';
import { BUDGET_PERIOD_KINDS, isMicroUsd, type BudgetPeriodKind } from '@llmgov/billing';
import {
  BudgetKeys,
  RESERVATION_ID_RE,
  TENANT_ID_RE,
  counterId,
  parseCounterId,
  parseScopeKeyPart,
  periodKeyPart,
  requestScopes,
  scopeKeyPart,
  scopeLabel,
  type BudgetScope,
} from './budget-scope.js';
import { DEFAULT_THROTTLE, type BudgetLimitSource, type BudgetThrottle, type LimitOrigin, type ScopeLimit } from './budget-limits.js';
import {
  EXTEND_LUA,
  READ_SPENT_LUA,
  RECOUNT_LUA,
  RELEASE_JOB_LUA,
  RELEASE_LUA,
  REPAIR_SPENT_LUA,
  RESERVE_LUA,
  SETTLE_LUA,
  SHORTEN_JOB_LUA,
  SNAPSHOT_LUA,
} from './budget-lua.js';
import { LuaScript, redisCall } from './redis-call.js';

const DAY_MS = 86_400_000;
/** Day counters live 3 days, month counters 62 days (seconds): long enough for late bills and the reconciler. */
const DAY_COUNTER_TTL_S = 3 * 86_400;
const MONTH_COUNTER_TTL_S = 62 * 86_400;
/**
 * A finished reservation stays as a tombstone for 2 days (ms), so a repeated settle or release, or a bill arriving after
 * its release or expiry, is recognised (about 0.6 KB each in Redis 7; see ADR 0007). A bill redelivered later than that
 * would be charged again as unreserved; the reconciler repairs such a counter from the ledger.
 */
export const RESERVATION_TOMBSTONE_MS = 2 * DAY_MS;
/** Longest lease (ms); a holder that needs longer extends its lease. */
export const MAX_LEASE_MS = DAY_MS;

const SCRIPTS = {
  reserve: new LuaScript('budget_reserve', RESERVE_LUA),
  extend: new LuaScript('budget_extend', EXTEND_LUA),
  settle: new LuaScript('budget_settle', SETTLE_LUA),
  release: new LuaScript('budget_release', RELEASE_LUA),
  releaseJob: new LuaScript('budget_release_job', RELEASE_JOB_LUA),
  shortenJob: new LuaScript('budget_shorten_job', SHORTEN_JOB_LUA),
  snapshot: new LuaScript('budget_snapshot', SNAPSHOT_LUA),
  recount: new LuaScript('budget_recount_reserved', RECOUNT_LUA),
  repairSpent: new LuaScript('budget_repair_spent', REPAIR_SPENT_LUA),
  readSpent: new LuaScript('budget_read_spent', READ_SPENT_LUA),
} as const;

/** States of a reservation: `held` until settled, released, or its lease expires. */
export type ReservationState = 'held' | 'settled' | 'released' | 'expired';

/** A reservation of a request's worst-case cost against every budget it falls under. */
export interface ReserveRequest {
  /** Idempotency key of the reservation (`RESERVATION_ID_RE`); for a job attempt, `jobReservationId(job_id, attempt)`. */
  reservationId: string;
  tenant: string;
  /** Team of the request; null or '' for none. */
  team?: string | null;
  /** Policy route (named use case) of the request; null or '' for none. */
  route?: string | null;
  /** Worst-case cost, whole micro-USD (`worstCaseCost(...).microUsd` of @llmgov/billing). */
  amountMicroUsd: number;
  /** Lease, ms (1 .. MAX_LEASE_MS): past it, the amount goes back to the budgets unless extended or settled. */
  leaseMs: number;
  /** The job the reservation belongs to, so the job's terminal state can release it (`releaseJob`). */
  jobId?: string | null;
}

/** One budget that refused a reservation: its limit and how much was spent and reserved when it refused. */
export interface BudgetRefusal {
  /** `tenant`, `team:<name>` or `route:<name>`. */
  scope: string;
  period: BudgetPeriodKind;
  /** `YYYY-MM-DD` or `YYYY-MM` (UTC). */
  periodId: string;
  limitMicroUsd: number;
  spentMicroUsd: number;
  reservedMicroUsd: number;
  requestedMicroUsd: number;
  /** What this budget does above its limit (the limit's `throttle`, default degrade). */
  throttle: BudgetThrottle;
  /** Where its limit comes from, when the limit source says. */
  origin?: LimitOrigin;
}

export type ReserveResult =
  | { ok: true; status: 'reserved' | 'already_held'; reservationId: string; amountMicroUsd: number; leaseUntil: number }
  | {
      ok: false;
      status: 'refused';
      reservationId: string;
      refusals: BudgetRefusal[];
      /**
       * `refuse` when any budget that refused says refuse (each budget enforces its own mode, and refusing satisfies
       * both), else `degrade`: what the policy engine does next (`signals.budgetThrottle`).
       */
      throttle: BudgetThrottle;
      /** The least any refusing budget has left (limit - spent - reserved, at least 0), micro-USD: `signals.budgetRemainingUsd`. */
      remainingMicroUsd: number;
      message: string;
    }
  | { ok: false; status: 'closed'; reservationId: string; state: Exclude<ReservationState, 'held'>; message: string };

/** Spend of one counter after a settlement. */
export interface CounterSpend {
  /** Counter id `<scope>|<period>` (see `counterId`). */
  counter: string;
  scope: BudgetScope;
  period: BudgetPeriodKind;
  periodId: string;
  spentMicroUsd: number;
}

export interface SettleRequest {
  tenant: string;
  reservationId: string;
  /** The actual cost from the ledger, whole micro-USD (`cost_ledger.cost_micro_usd` of the usage event). */
  actualMicroUsd: number;
  /** When the cost was incurred (epoch ms; the usage's `occurred_at`): decides the day and month charged. Default: now. */
  at?: number;
  /** Scopes to charge when the reservation id is unknown (usage that was never reserved): the tenant, plus these. */
  unreserved?: { team?: string | null; route?: string | null };
}

export type SettleResult =
  | { status: 'settled'; from: Exclude<ReservationState, 'settled'> | 'unreserved'; counters: CounterSpend[] }
  | { status: 'already_settled'; actualMicroUsd: number; counters: CounterSpend[] };

/** A reservation as stored. */
export interface ReservationInfo {
  reservationId: string;
  state: ReservationState;
  amountMicroUsd: number;
  scopes: BudgetScope[];
  /** Lease end, epoch ms (held reservations). */
  leaseUntil: number | null;
  jobId: string | null;
  /** The settled amount, micro-USD (settled reservations). */
  actualMicroUsd: number | null;
}

/** One counter's state. */
export interface CounterState {
  counter: string;
  scope: BudgetScope;
  period: BudgetPeriodKind;
  periodId: string;
  spentMicroUsd: number;
  reservedMicroUsd: number;
  /** False when Redis has no counter (nothing spent or reserved in the period yet). */
  exists: boolean;
}

export interface BudgetReservationsOptions {
  /** Where the limits come from: EffectiveBudgetLimits in the services (policy budgets, operator overrides winning). */
  limits: BudgetLimitSource;
  /** Clock, epoch ms (default Date.now): decides periods and lease expiry; tests inject one. */
  now?: () => number;
}

const int = (v: unknown): number => Number(v ?? 0);

/** ` (policy default v3)` or ` (override)`, for refusal messages; '' when the source does not say. */
export function originText(origin: LimitOrigin | undefined): string {
  if (!origin) return '';
  return origin.kind === 'policy' ? ` (policy ${origin.namespace} v${origin.version})` : ' (override)';
}

/** The day and month key parts of an instant, e.g. `['day:2026-11-05', 'month:2026-11']`. */
export const periodParts = (epochMs: number): string[] => BUDGET_PERIOD_KINDS.map((k) => periodKeyPart(k, epochMs));

/** The periods the reconciler and the recount look at: today, yesterday, this month and yesterday's month. */
export const recentPeriodParts = (epochMs: number): string[] => [...new Set([...periodParts(epochMs), ...periodParts(epochMs - DAY_MS)])];

function checkTenant(tenant: string): void {
  if (!TENANT_ID_RE.test(tenant)) throw new ValidationError(['tenant must match [a-z0-9][a-z0-9_-]{0,63}']);
}
function checkReservationId(id: string): void {
  if (!RESERVATION_ID_RE.test(id)) throw new ValidationError(['reservationId must be 1-200 characters of [A-Za-z0-9:._-], starting with a letter or digit']);
}
function checkLease(leaseMs: number): void {
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1 || leaseMs > MAX_LEASE_MS)
    throw new ValidationError([`leaseMs must be an integer in [1, ${MAX_LEASE_MS}]`]);
}
function checkAmount(name: string, v: number): void {
  if (!isMicroUsd(v)) throw new ValidationError([`${name} must be whole micro-USD in [0, 2^53/4], got ${v}`]);
}

/**
 * Budget reservations in Redis (ADR 0007): before a request is dispatched, its worst-case cost is reserved
 * atomically against every budget it falls under (tenant, team, route × UTC day and month); the cost-attributor
 * settles it to the ledger's actual cost, or releases it when the job ends without a bill; a lease returns the money
 * of a holder that crashed. Each operation is one Lua script, so check and increment can never interleave.
 * All amounts are whole micro-USD.
 */
export class BudgetReservations {
  private readonly now: () => number;
  private readonly limits: BudgetLimitSource;

  constructor(
    private readonly redis: Redis,
    options: BudgetReservationsOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.limits = options.limits;
  }

  private base(tenant: string, now: number): string[] {
    return [BudgetKeys.prefix(tenant), String(now), String(RESERVATION_TOMBSTONE_MS)];
  }

  /**
   * Reserves `amountMicroUsd` against every budget of the request, or refuses when any budget would go over its limit
   * (spent + reserved + amount > limit), naming each such budget. Repeating a reservation id is idempotent: a held
   * one answers `already_held` (not reserved twice), a finished one `closed`.
   * @throws ValidationError for malformed ids, amount or lease; RetriableError when Redis or the limit source is unreachable.
   */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    checkReservationId(req.reservationId);
    checkAmount('amountMicroUsd', req.amountMicroUsd);
    checkLease(req.leaseMs);
    const scopes = requestScopes(req.tenant, req.team, req.route);
    const jobId = req.jobId ?? '';
    if (jobId !== '' && !RESERVATION_ID_RE.test(jobId)) throw new ValidationError(['jobId must be 1-200 characters of [A-Za-z0-9:._-]']);
    const limits = await this.limits.limitsFor(req.tenant, scopes);
    const now = this.now();
    const leaseUntil = now + req.leaseMs;
    const limitOf = (scopePart: string, period: BudgetPeriodKind): ScopeLimit | undefined =>
      limits.find((x) => x.period === period && scopeKeyPart(x.scope) === scopePart);
    const limitArgs = scopes.flatMap((s) =>
      BUDGET_PERIOD_KINDS.map((period) => {
        const l = limitOf(scopeKeyPart(s), period);
        return l === undefined ? '' : String(l.limitMicroUsd);
      }),
    );
    const [reply] = await Promise.all([
      SCRIPTS.reserve.run(this.redis, BudgetKeys.leases(req.tenant), [
        ...this.base(req.tenant, now),
        req.reservationId,
        String(req.amountMicroUsd),
        String(leaseUntil),
        scopes.map(scopeKeyPart).join(' '),
        periodParts(now).join(' '),
        jobId,
        DAY_COUNTER_TTL_S,
        MONTH_COUNTER_TTL_S,
        ...limitArgs,
      ]),
      redisCall(() => this.redis.sadd(BudgetKeys.tenants, req.tenant)),
    ]);
    const r = reply as [string, ...unknown[]];
    const id = req.reservationId;
    if (r[0] === 'reserved') return { ok: true, status: 'reserved', reservationId: id, amountMicroUsd: req.amountMicroUsd, leaseUntil };
    if (r[0] === 'exists') {
      const state = r[1] as ReservationState;
      if (state === 'held') {
        const info = await this.get(req.tenant, id);
        return { ok: true, status: 'already_held', reservationId: id, amountMicroUsd: int(r[2]), leaseUntil: info?.leaseUntil ?? leaseUntil };
      }
      return { ok: false, status: 'closed', reservationId: id, state, message: `reservation ${id} is already ${state}` };
    }
    const refusals = (r[1] as [string, string, string, string][]).map(([counter, limit, spent, reserved]): BudgetRefusal => {
      const c = parseCounterId(counter);
      const l = limitOf(scopeKeyPart(c.scope), c.period);
      return {
        scope: scopeLabel(c.scope),
        period: c.period,
        periodId: c.periodId,
        limitMicroUsd: int(limit),
        spentMicroUsd: int(spent),
        reservedMicroUsd: int(reserved),
        requestedMicroUsd: req.amountMicroUsd,
        throttle: l?.throttle ?? DEFAULT_THROTTLE,
        ...(l?.origin ? { origin: l.origin } : {}),
      };
    });
    const throttle: BudgetThrottle = refusals.some((f) => f.throttle === 'refuse') ? 'refuse' : 'degrade';
    const remainingMicroUsd = Math.min(...refusals.map((f) => Math.max(0, f.limitMicroUsd - f.spentMicroUsd - f.reservedMicroUsd)));
    const usd = (m: number) => (m / 1e6).toFixed(6);
    const message = refusals
      .map(
        (f) =>
          `${f.scope} ${f.period} budget ${f.periodId}${originText(f.origin)}: limit ${usd(f.limitMicroUsd)} USD, spent ${usd(f.spentMicroUsd)}, reserved ${usd(f.reservedMicroUsd)}, requested ${usd(f.requestedMicroUsd)}, throttle ${f.throttle}`,
      )
      .join('; ');
    return { ok: false, status: 'refused', reservationId: id, refusals, throttle, remainingMicroUsd, message: `budget_exceeded: ${message}` };
  }

  /**
   * Moves a held reservation's lease to now + leaseMs (a long-running holder renews it).
   * @returns extended, or the state it is in (`expired` when the lease had already ended: the money went back).
   * @throws ValidationError for malformed arguments; RetriableError when Redis is unreachable.
   */
  async extend(
    tenant: string,
    reservationId: string,
    leaseMs: number,
  ): Promise<{ extended: boolean; state: ReservationState | 'unknown'; leaseUntil: number | null }> {
    checkTenant(tenant);
    checkReservationId(reservationId);
    checkLease(leaseMs);
    const now = this.now();
    const r = (await SCRIPTS.extend.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, now), reservationId, String(now + leaseMs)])) as [
      string,
      string?,
    ];
    return r[0] === 'extended'
      ? { extended: true, state: 'held', leaseUntil: now + leaseMs }
      : { extended: false, state: r[1] as ReservationState | 'unknown', leaseUntil: null };
  }

  /**
   * Settles a reservation to its actual cost, exactly once per reservation id: the held amount leaves `reserved` and
   * `actualMicroUsd` is added to `spent` of each of its scopes for the day and month of `at`. A released or expired
   * reservation is still charged (the money was spent; its reserved amount was already given back). An unknown id is
   * a direct charge to the tenant and the `unreserved` scopes, recorded under that id so it, too, happens once.
   * @returns the counters' spend after the charge, or `already_settled` (nothing changed) with their spend now.
   * @throws ValidationError for malformed arguments; RetriableError when Redis is unreachable.
   */
  async settle(req: SettleRequest): Promise<SettleResult> {
    checkReservationId(req.reservationId);
    checkAmount('actualMicroUsd', req.actualMicroUsd);
    const fallback = requestScopes(req.tenant, req.unreserved?.team, req.unreserved?.route);
    const now = this.now();
    const at = req.at ?? now;
    const [reply] = await Promise.all([
      SCRIPTS.settle.run(this.redis, BudgetKeys.leases(req.tenant), [
        ...this.base(req.tenant, now),
        req.reservationId,
        String(req.actualMicroUsd),
        periodParts(at).join(' '),
        fallback.map(scopeKeyPart).join(' '),
        DAY_COUNTER_TTL_S,
        MONTH_COUNTER_TTL_S,
      ]),
      redisCall(() => this.redis.sadd(BudgetKeys.tenants, req.tenant)),
    ]);
    const r = reply as [string, ...unknown[]];
    const counters = (r[2] as [string, number][]).map(([counter, spent]): CounterSpend => ({ counter, ...parseCounterId(counter), spentMicroUsd: int(spent) }));
    if (r[0] === 'already_settled') return { status: 'already_settled', actualMicroUsd: int(r[1]), counters };
    return { status: 'settled', from: r[1] as Exclude<ReservationState, 'settled'> | 'unreserved', counters };
  }

  /**
   * Gives a held reservation's amount back (the request was refused downstream, failed, cancelled or expired).
   * Idempotent: anything but a held reservation is left as it is.
   * @returns whether this call released it, and the state it was in before.
   * @throws ValidationError for malformed arguments; RetriableError when Redis is unreachable.
   */
  async release(tenant: string, reservationId: string): Promise<{ released: boolean; state: ReservationState | 'unknown' }> {
    checkTenant(tenant);
    checkReservationId(reservationId);
    const r = (await SCRIPTS.release.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, this.now()), reservationId])) as [string, string?];
    return r[0] === 'released' ? { released: true, state: 'held' } : { released: false, state: r[1] as ReservationState | 'unknown' };
  }

  /**
   * Releases every held reservation of a job (those reserved with its `jobId`), on the job's terminal state.
   * @returns how many were released (0 when none was held: idempotent).
   * @throws ValidationError for malformed arguments; RetriableError when Redis is unreachable.
   */
  async releaseJob(tenant: string, jobId: string): Promise<number> {
    checkTenant(tenant);
    checkReservationId(jobId);
    const r = (await SCRIPTS.releaseJob.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, this.now()), jobId])) as [number];
    return int(r[0]);
  }

  /**
   * Shortens the lease of every held reservation of a job to at most `graceMs` from now (never lengthens one): for a
   * job that completed, whose bill is on its way and will settle it, while a completion that never bills (an answer
   * served from cache) gives the money back after the grace instead of at the end of its original lease.
   * @returns how many leases were shortened.
   * @throws ValidationError for malformed arguments; RetriableError when Redis is unreachable.
   */
  async shortenJobLeases(tenant: string, jobId: string, graceMs: number): Promise<number> {
    checkTenant(tenant);
    checkReservationId(jobId);
    checkLease(graceMs);
    const now = this.now();
    const r = (await SCRIPTS.shortenJob.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, now), jobId, String(now + graceMs)])) as [number];
    return int(r[0]);
  }

  /** The stored reservation, or undefined when unknown (or its tombstone expired). @throws RetriableError when Redis is unreachable. */
  async get(tenant: string, reservationId: string): Promise<ReservationInfo | undefined> {
    checkTenant(tenant);
    checkReservationId(reservationId);
    const h = await redisCall(() => this.redis.hgetall(BudgetKeys.reservation(tenant, reservationId)));
    if (!h.state) return undefined;
    return {
      reservationId,
      state: h.state as ReservationState,
      amountMicroUsd: int(h.amount),
      scopes: (h.scopes ?? '').split(' ').filter(Boolean).map(parseScopeKeyPart),
      leaseUntil: h.state === 'held' && h.lease_until ? int(h.lease_until) : null,
      jobId: h.job ? h.job : null,
      actualMicroUsd: h.actual !== undefined ? int(h.actual) : null,
    };
  }

  /**
   * Every counter of the tenant for the periods of `at` (default now: today and this month), after sweeping expired
   * leases, plus `extraScopes` (scopes with a limit but no counter yet).
   * @returns the counters and the number of reservations held. @throws RetriableError when Redis is unreachable.
   */
  async snapshot(
    tenant: string,
    opts: { at?: number; extraScopes?: readonly BudgetScope[]; periods?: readonly string[] } = {},
  ): Promise<{ counters: CounterState[]; held: number }> {
    checkTenant(tenant);
    const now = this.now();
    const periods = opts.periods ?? periodParts(opts.at ?? now);
    const r = (await SCRIPTS.snapshot.run(this.redis, BudgetKeys.leases(tenant), [
      ...this.base(tenant, now),
      periods.join(' '),
      (opts.extraScopes ?? []).map(scopeKeyPart).join(' '),
    ])) as [[string, string, string][], number];
    const counters = r[0].map(([counter, spent, reserved]): CounterState => ({
      counter,
      ...parseCounterId(counter),
      spentMicroUsd: int(spent || 0),
      reservedMicroUsd: int(reserved || 0),
      exists: spent !== '' || reserved !== '',
    }));
    return { counters, held: int(r[1]) };
  }

  /**
   * Recomputes every `reserved` counter of the tenant from its held reservations (after sweeping expired leases) and
   * fixes those that differ: a reserved amount no held reservation accounts for (a phantom) is removed.
   * @returns the fixes made, micro-USD. @throws RetriableError when Redis is unreachable.
   */
  async recountReserved(tenant: string): Promise<{ counter: string; wasMicroUsd: number; nowMicroUsd: number }[]> {
    checkTenant(tenant);
    const now = this.now();
    const r = (await SCRIPTS.recount.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, now), recentPeriodParts(now).join(' ')])) as [
      string,
      string,
      string,
    ][];
    return r.map(([counter, was, fixed]) => ({ counter, wasMicroUsd: int(was), nowMicroUsd: int(fixed) }));
  }

  /**
   * The raw `spent` value of each counter ('' where Redis has none), as `repairSpent` expects it back.
   * @throws RetriableError when Redis is unreachable.
   */
  async readSpent(tenant: string, counters: readonly string[]): Promise<Map<string, string>> {
    checkTenant(tenant);
    if (counters.length === 0) return new Map();
    const r = (await SCRIPTS.readSpent.run(this.redis, BudgetKeys.leases(tenant), [...this.base(tenant, this.now()), counters.join(' ')])) as string[];
    return new Map(counters.map((c, i) => [c, r[i] ?? '']));
  }

  /**
   * Sets a counter's `spent` to the ledger's value if it still holds `observed` (compare-and-set): a settlement that
   * ran since the caller read it makes this a no-op (`changed`), so a repair never undoes a charge it did not see.
   * @throws ValidationError for a malformed counter or amount; RetriableError when Redis is unreachable.
   */
  async repairSpent(tenant: string, counter: string, observed: string, ledgerMicroUsd: number): Promise<'repaired' | 'changed'> {
    checkTenant(tenant);
    const c = parseCounterId(counter);
    checkAmount('ledgerMicroUsd', ledgerMicroUsd);
    const r = (await SCRIPTS.repairSpent.run(this.redis, BudgetKeys.leases(tenant), [
      ...this.base(tenant, this.now()),
      counterId(scopeKeyPart(c.scope), `${c.period}:${c.periodId}`),
      observed,
      String(ledgerMicroUsd),
      c.period === 'day' ? DAY_COUNTER_TTL_S : MONTH_COUNTER_TTL_S,
    ])) as [string, string];
    return r[0] === 'repaired' ? 'repaired' : 'changed';
  }

  /** Tenants that have budget state (limits, reservations or charges). @throws RetriableError when Redis is unreachable. */
  async tenants(): Promise<string[]> {
    return (await redisCall(() => this.redis.smembers(BudgetKeys.tenants))).filter((t) => TENANT_ID_RE.test(t)).sort();
  }
}
