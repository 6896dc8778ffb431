/**
 * BudgetReservations against the real Redis of the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`);
 * skipped when REDIS_URL is absent. Each test has its own tenant id. Time is an injected clock, so leases of a few ms
 * expire by moving the clock, never by sleeping.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@llmgov/errors';
import { BudgetKeys, BudgetReservations, RedisBudgetLimits, createRedis, jobReservationId, type BudgetScope, type Redis } from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL;
const run = randomUUID().slice(0, 8);
const TENANT: BudgetScope = { kind: 'tenant' };
/** 2026-11-05 12:00 UTC. */
const T0 = Date.UTC(2026, 10, 5, 12);

describe('BudgetReservations against Redis', { skip: REDIS_URL ? false : 'REDIS_URL is not set' }, () => {
  let redis: Redis;
  /** Eight connections, as eight router instances would hold. */
  let routers: Redis[];
  let limits: RedisBudgetLimits;
  const tenants: string[] = [];
  let n = 0;
  const newTenant = () => {
    const t = `bt-${run}-${n++}`;
    tenants.push(t);
    return t;
  };
  const clock = { now: T0 };
  const budgets = (r: Redis = redis) => new BudgetReservations(r, { limits, now: () => clock.now });
  const counter = async (tenant: string, c: string) => {
    const h = await redis.hgetall(BudgetKeys.counter(tenant, c));
    return { spent: Number(h.spent ?? 0), reserved: Number(h.reserved ?? 0) };
  };

  before(() => {
    redis = createRedis(REDIS_URL!);
    routers = Array.from({ length: 8 }, () => createRedis(REDIS_URL!));
    limits = new RedisBudgetLimits(redis);
  });
  after(async () => {
    for (const t of tenants) {
      const keys = await redis.keys(`budget:{${t}}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.srem(BudgetKeys.tenants, t);
    }
    for (const r of [redis, ...routers]) r.disconnect();
  });

  it('300 concurrent reservations against a budget that fits 50 never reserve past it (check-then-increment overshoot)', async () => {
    const tenant = newTenant();
    const amount = 1_000;
    const limit = 50 * amount + amount / 2;
    await limits.set(tenant, TENANT, 'day', limit);
    const instances = routers.map((r) => budgets(r));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        instances[i % instances.length]!.reserve({ reservationId: `r-${i}`, tenant, amountMicroUsd: amount, leaseMs: 60_000 }),
      ),
    );
    const ok = results.filter((r) => r.ok);
    assert.equal(ok.length, 50, 'exactly the 50 that fit');
    for (const r of results) {
      if (r.ok) continue;
      assert.equal(r.status, 'refused');
      if (r.status !== 'refused') continue;
      assert.deepEqual(
        r.refusals.map((f) => [f.scope, f.period, f.periodId, f.limitMicroUsd]),
        [['tenant', 'day', '2026-11-05', limit]],
      );
      const [f] = r.refusals;
      assert.ok(f!.spentMicroUsd + f!.reservedMicroUsd + f!.requestedMicroUsd > limit, 'refused only when it did not fit');
      assert.match(r.message, /^budget_exceeded: tenant day budget 2026-11-05: limit 0\.050500 USD/);
    }
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 0, reserved: 50 * amount });
    assert.deepEqual(await counter(tenant, 'tenant|month:2026-11'), { spent: 0, reserved: 50 * amount }, 'the month is reserved as well');
  });

  it('varied amounts from 8 instances: the total stays within the limit and nothing that fitted was refused', async () => {
    const tenant = newTenant();
    const limit = 60_000;
    await limits.set(tenant, TENANT, 'month', limit);
    const amounts = Array.from({ length: 300 }, (_, i) => 500 + ((i * 7919) % 1500));
    const instances = routers.map((r) => budgets(r));
    const results = await Promise.all(
      amounts.map((a, i) => instances[i % instances.length]!.reserve({ reservationId: `v-${i}`, tenant, amountMicroUsd: a, leaseMs: 60_000 })),
    );
    const total = results.reduce((s, r, i) => s + (r.ok ? amounts[i]! : 0), 0);
    assert.ok(total <= limit, `reserved ${total} of ${limit}`);
    assert.equal((await counter(tenant, 'tenant|month:2026-11')).reserved, total);
    // The reserved total only grew during the race, so every refused amount is more than what is left even now.
    for (const [i, r] of results.entries()) if (!r.ok) assert.ok(amounts[i]! > limit - total, `amount ${amounts[i]} was refused with ${limit - total} left`);
  });

  it('the same race with a check-then-increment (GET, then INCRBY) overshoots: the race is real', async () => {
    const tenant = newTenant();
    const key = `budget:{${tenant}}:naive`;
    const limit = 50_500;
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const r = routers[i % routers.length]!;
        if (Number((await r.get(key)) ?? 0) + 1_000 <= limit) await r.incrby(key, 1_000);
      }),
    );
    assert.ok(Number(await redis.get(key)) > limit, 'the naive admission let more through than the budget');
  });

  it('checks every scope the request falls under: tenant, team and route, day and month', async () => {
    const tenant = newTenant();
    const b = budgets();
    await limits.set(tenant, TENANT, 'month', 1_000_000);
    await limits.set(tenant, { kind: 'team', name: 'search' }, 'day', 3_000);
    await limits.set(tenant, { kind: 'route', name: 'support-faq' }, 'month', 5_000);
    const base = { tenant, team: 'search', route: 'support-faq', leaseMs: 60_000 };
    assert.equal((await b.reserve({ ...base, reservationId: 'a', amountMicroUsd: 2_000 })).ok, true);
    const refused = await b.reserve({ ...base, reservationId: 'b', amountMicroUsd: 2_000 });
    assert.equal(refused.status, 'refused');
    assert.deepEqual(refused.status === 'refused' && refused.refusals, [
      {
        scope: 'team:search',
        period: 'day',
        periodId: '2026-11-05',
        limitMicroUsd: 3_000,
        spentMicroUsd: 0,
        reservedMicroUsd: 2_000,
        requestedMicroUsd: 2_000,
        throttle: 'degrade',
      },
    ]);
    assert.equal(refused.status === 'refused' && refused.remainingMicroUsd, 1_000, 'what the refusing budget has left');
    // Another team is not held back by team search's budget, but shares the route's month.
    assert.equal((await b.reserve({ ...base, team: 'ads', reservationId: 'c', amountMicroUsd: 2_500 })).ok, true);
    const route = await b.reserve({ ...base, team: 'ads', reservationId: 'd', amountMicroUsd: 1_000 });
    assert.deepEqual(route.status === 'refused' && route.refusals.map((f) => `${f.scope}/${f.period}`), ['route:support-faq/month']);
    // A refusal reserved nothing anywhere.
    assert.deepEqual(await counter(tenant, 'tenant|month:2026-11'), { spent: 0, reserved: 4_500 });
    assert.deepEqual(await counter(tenant, 'team:search|day:2026-11-05'), { spent: 0, reserved: 2_000 });
    assert.deepEqual(await counter(tenant, 'route:support-faq|month:2026-11'), { spent: 0, reserved: 4_500 });
  });

  it('settles exactly once and releases exactly once, even when repeated concurrently', async () => {
    const tenant = newTenant();
    const b = budgets();
    await limits.set(tenant, TENANT, 'day', 10_000);
    assert.equal((await b.reserve({ reservationId: 's', tenant, team: 'search', amountMicroUsd: 4_000, leaseMs: 60_000 })).ok, true);
    const settles = await Promise.all([1, 2, 3].map(() => b.settle({ tenant, reservationId: 's', actualMicroUsd: 1_234 })));
    assert.deepEqual(settles.map((s) => s.status).sort(), ['already_settled', 'already_settled', 'settled']);
    const settled = settles.find((s) => s.status === 'settled');
    assert.deepEqual(settled?.status === 'settled' && settled.counters.map((c) => [c.counter, c.spentMicroUsd]), [
      ['tenant|day:2026-11-05', 1_234],
      ['tenant|month:2026-11', 1_234],
      ['team:search|day:2026-11-05', 1_234],
      ['team:search|month:2026-11', 1_234],
    ]);
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 1_234, reserved: 0 });
    assert.deepEqual(await b.release(tenant, 's'), { released: false, state: 'settled' }, 'a release after the settlement changes nothing');
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 1_234, reserved: 0 });

    assert.equal((await b.reserve({ reservationId: 'r', tenant, amountMicroUsd: 3_000, leaseMs: 60_000 })).ok, true);
    const releases = await Promise.all([1, 2, 3].map(() => b.release(tenant, 'r')));
    assert.equal(releases.filter((r) => r.released).length, 1);
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 1_234, reserved: 0 });
    // A bill that arrives after the release is still spent (once): the counters must equal the ledger.
    const late = await b.settle({ tenant, reservationId: 'r', actualMicroUsd: 500 });
    assert.equal(late.status === 'settled' && late.from, 'released');
    assert.equal((await b.settle({ tenant, reservationId: 'r', actualMicroUsd: 500 })).status, 'already_settled');
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 1_734, reserved: 0 });
  });

  it('a crashed holder: an expired lease gives the money back, and a late bill is still charged once', async () => {
    const tenant = newTenant();
    const b = budgets();
    await limits.set(tenant, TENANT, 'day', 5_000);
    assert.equal((await b.reserve({ reservationId: 'crash', tenant, amountMicroUsd: 5_000, leaseMs: 5 })).ok, true);
    assert.equal((await b.reserve({ reservationId: 'blocked', tenant, amountMicroUsd: 1, leaseMs: 5 })).status, 'refused', 'the budget is held');
    clock.now += 4;
    assert.deepEqual(await b.extend(tenant, 'crash', 5), { extended: true, state: 'held', leaseUntil: clock.now + 5 }, 'a live holder renews its lease');
    clock.now += 6; // past the renewed lease: the holder is gone
    const next = await b.reserve({ reservationId: 'next', tenant, amountMicroUsd: 5_000, leaseMs: 60_000 });
    assert.equal(next.ok, true, 'the expired lease was swept by the next reservation');
    assert.equal((await b.get(tenant, 'crash'))?.state, 'expired');
    assert.deepEqual(await b.extend(tenant, 'crash', 5), { extended: false, state: 'expired', leaseUntil: null });
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 0, reserved: 5_000 });
    assert.deepEqual(await b.release(tenant, 'crash'), { released: false, state: 'expired' });
    const late = await b.settle({ tenant, reservationId: 'crash', actualMicroUsd: 700 });
    assert.equal(late.status === 'settled' && late.from, 'expired');
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 700, reserved: 5_000 }, 'charged once, not taken from reserved twice');
    await b.release(tenant, 'next');
    clock.now = T0;
  });

  it('an idle tenant is swept by snapshot and recount; a phantom reserved amount is recounted away', async () => {
    const tenant = newTenant();
    const b = budgets();
    await b.reserve({ reservationId: 'held', tenant, amountMicroUsd: 300, leaseMs: 60_000 });
    await b.reserve({ reservationId: 'gone', tenant, amountMicroUsd: 200, leaseMs: 10 });
    clock.now += 11;
    const snap = await b.snapshot(tenant);
    assert.equal(snap.held, 1);
    assert.deepEqual(
      snap.counters.map((c) => [c.counter, c.reservedMicroUsd]),
      [
        ['tenant|day:2026-11-05', 300],
        ['tenant|month:2026-11', 300],
      ],
    );
    // A phantom: reserved money that no held reservation accounts for (a lost reservation record, a bug, a bad restore).
    await redis.hincrby(BudgetKeys.counter(tenant, 'tenant|day:2026-11-05'), 'reserved', 777);
    const fixes = await b.recountReserved(tenant);
    assert.deepEqual(fixes, [{ counter: 'tenant|day:2026-11-05', wasMicroUsd: 1_077, nowMicroUsd: 300 }]);
    assert.deepEqual(await b.recountReserved(tenant), [], 'nothing left to fix');
    clock.now = T0;
  });

  it('shortens the leases of a completed job, and releases every held reservation of a failed one, once', async () => {
    const tenant = newTenant();
    const b = budgets();
    const job = randomUUID();
    for (const attempt of [1, 2])
      await b.reserve({ reservationId: jobReservationId(job, attempt), jobId: job, tenant, amountMicroUsd: 1_000, leaseMs: 60_000 });
    await b.settle({ tenant, reservationId: jobReservationId(job, 1), actualMicroUsd: 100 });
    assert.equal(await b.shortenJobLeases(tenant, job, 60_000), 0, 'both leases end within 60 s already');
    assert.equal(await b.shortenJobLeases(tenant, job, 5), 1, 'the held one is shortened, never lengthened');
    assert.equal((await b.get(tenant, jobReservationId(job, 2)))?.leaseUntil, clock.now + 5);
    assert.equal(await b.releaseJob(tenant, job), 1, 'attempt 2 was held; attempt 1 was settled');
    assert.equal(await b.releaseJob(tenant, job), 0);
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-05'), { spent: 100, reserved: 0 });
  });

  it('repeats a reservation idempotently and refuses a closed one', async () => {
    const tenant = newTenant();
    const b = budgets();
    const first = await b.reserve({ reservationId: 'same', tenant, amountMicroUsd: 1_000, leaseMs: 60_000 });
    const again = await b.reserve({ reservationId: 'same', tenant, amountMicroUsd: 1_000, leaseMs: 60_000 });
    assert.deepEqual([first.status, again.status], ['reserved', 'already_held']);
    assert.equal((await counter(tenant, 'tenant|day:2026-11-05')).reserved, 1_000, 'reserved once');
    await b.release(tenant, 'same');
    const closed = await b.reserve({ reservationId: 'same', tenant, amountMicroUsd: 1_000, leaseMs: 60_000 });
    assert.deepEqual([closed.ok, closed.status, closed.status === 'closed' && closed.state], [false, 'closed', 'released']);
  });

  it('throttles above 100 %: a spent budget refuses any further amount', async () => {
    const tenant = newTenant();
    const b = budgets();
    await limits.set(tenant, TENANT, 'day', 1_000);
    await b.settle({ tenant, reservationId: 'usage:1', actualMicroUsd: 1_000 });
    assert.equal((await b.reserve({ reservationId: 'x', tenant, amountMicroUsd: 1, leaseMs: 1_000 })).status, 'refused');
    assert.equal((await b.reserve({ reservationId: 'y', tenant, amountMicroUsd: 0, leaseMs: 1_000 })).ok, true, 'a zero amount still fits');
  });

  it('charges the day and month of the bill, which may differ from those reserved', async () => {
    const tenant = newTenant();
    const b = budgets();
    clock.now = Date.UTC(2026, 10, 30, 23, 59, 59);
    await b.reserve({ reservationId: 'midnight', tenant, amountMicroUsd: 900, leaseMs: 60_000 });
    const at = Date.UTC(2026, 11, 1, 0, 0, 1);
    const s = await b.settle({ tenant, reservationId: 'midnight', actualMicroUsd: 400, at });
    assert.deepEqual(s.status === 'settled' && s.counters.map((c) => c.counter), ['tenant|day:2026-12-01', 'tenant|month:2026-12']);
    assert.deepEqual(await counter(tenant, 'tenant|day:2026-11-30'), { spent: 0, reserved: 0 });
    assert.deepEqual(await counter(tenant, 'tenant|month:2026-12'), { spent: 400, reserved: 0 });
    clock.now = T0;
  });

  it('charges usage that was never reserved to the tenant and its team, once', async () => {
    const tenant = newTenant();
    const b = budgets();
    const charge = { tenant, reservationId: 'usage:abc', actualMicroUsd: 250, unreserved: { team: 'a team/with:odd|chars' } };
    const s = await b.settle(charge);
    assert.equal(s.status === 'settled' && s.from, 'unreserved');
    assert.equal((await b.settle(charge)).status, 'already_settled');
    const snap = await b.snapshot(tenant);
    assert.deepEqual(snap.counters.map((c) => [c.counter, c.scope, c.spentMicroUsd]).sort(), [
      ['team:a%20team%2Fwith%3Aodd%7Cchars|day:2026-11-05', { kind: 'team', name: 'a team/with:odd|chars' }, 250],
      ['team:a%20team%2Fwith%3Aodd%7Cchars|month:2026-11', { kind: 'team', name: 'a team/with:odd|chars' }, 250],
      ['tenant|day:2026-11-05', { kind: 'tenant' }, 250],
      ['tenant|month:2026-11', { kind: 'tenant' }, 250],
    ]);
  });

  it('repairs spent only if no settlement ran since it was read (compare-and-set)', async () => {
    const tenant = newTenant();
    const b = budgets();
    await b.settle({ tenant, reservationId: 'usage:1', actualMicroUsd: 100 });
    const c = 'tenant|day:2026-11-05';
    const observed = (await b.readSpent(tenant, [c])).get(c)!;
    assert.equal(observed, '100');
    await b.settle({ tenant, reservationId: 'usage:2', actualMicroUsd: 50 });
    assert.equal(await b.repairSpent(tenant, c, observed, 90), 'changed', 'a settlement ran in between: no repair');
    assert.equal(await b.repairSpent(tenant, c, '150', 140), 'repaired');
    assert.equal((await counter(tenant, c)).spent, 140);
    assert.deepEqual(await b.readSpent(tenant, ['tenant|day:2026-11-04']), new Map([['tenant|day:2026-11-04', '']]));
  });

  it('refuses malformed input with a ValidationError', async () => {
    const b = budgets();
    const ok = { reservationId: 'v', tenant: 'bt-valid', amountMicroUsd: 1, leaseMs: 1_000 };
    for (const bad of [
      { ...ok, tenant: 'Bad Tenant' },
      { ...ok, reservationId: ' spaced' },
      { ...ok, amountMicroUsd: -1 },
      { ...ok, amountMicroUsd: 1.5 },
      { ...ok, leaseMs: 0 },
      { ...ok, team: 'x'.repeat(300) },
      { ...ok, route: 'bell\u0007' },
    ])
      await assert.rejects(b.reserve(bad), ValidationError);
    await assert.rejects(b.settle({ tenant: 'bt-valid', reservationId: 'v', actualMicroUsd: Number.NaN }), ValidationError);
  });
});
