/**
 * `llmgov budgets` as a user runs it: the built binary (`dist/src/main.js`) against the local stack's Redis, with
 * reservations made through BudgetReservations as the router makes them. Skipped without REDIS_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BudgetKeys, BudgetReservations, RedisBudgetLimits, createRedis, type Redis } from '@llmgov/persistence';
import type { BudgetsReport } from '../src/commands/budgets.js';

const REDIS_URL = process.env.REDIS_URL;
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const run = promisify(execFile);
const tenant = `cli-${randomUUID().slice(0, 8)}`;

/** Runs the CLI; resolves with stdout, stderr and the exit code (never rejects on a non-zero exit). */
async function llmgov(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env: { ...process.env } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('llmgov budgets against Redis', { skip: REDIS_URL ? false : 'REDIS_URL is not set' }, () => {
  let redis: Redis;

  before(() => {
    redis = createRedis(REDIS_URL!);
  });
  after(async () => {
    const keys = await redis.keys(`budget:{${tenant}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.srem(BudgetKeys.tenants, tenant);
    redis.disconnect();
  });

  it('sets budgets (a dry run writes nothing) and shows spent, reserved, limit, remaining and the alert per scope', async () => {
    const dry = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '1', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: tenant \S+ tenant day budget: - -> 1\.000000 USD; nothing written\n$/);
    assert.deepEqual(await new RedisBudgetLimits(redis).list(tenant), []);

    const set = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '1');
    assert.match(set.stdout, /tenant day budget: - -> 1\.000000 USD\n$/);
    assert.equal((await llmgov('budgets', 'set', '--tenant', tenant, '--team', 'search', '--period', 'month', '--usd', '0.5')).code, 0);
    const again = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '2');
    assert.match(again.stdout, /tenant day budget: 1\.000000 -> 2\.000000 USD\n$/);

    const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
    assert.equal((await budgets.reserve({ reservationId: 'a', tenant, team: 'search', amountMicroUsd: 300_000, leaseMs: 60_000 })).ok, true);
    await budgets.settle({ tenant, reservationId: 'usage:x', actualMicroUsd: 1_250_000 });

    const shown = await llmgov('budgets', 'show', '--tenant', tenant, '--json');
    assert.equal(shown.code, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as BudgetsReport;
    assert.equal(report.held_reservations, 1);
    assert.deepEqual(
      report.budgets.map((b) => [b.scope, b.period, b.limit_usd, b.spent_usd, b.reserved_usd, b.remaining_usd, b.budget_alert]),
      [
        ['tenant', 'day', 2, 1.25, 0.3, 0.45, 'OK'],
        ['tenant', 'month', null, 1.25, 0.3, null, null],
        ['team:search', 'day', null, 0, 0.3, null, null],
        ['team:search', 'month', 0.5, 0, 0.3, 0.2, 'OK'],
      ],
    );
    const table = await llmgov('budgets', 'show', '--tenant', tenant);
    assert.match(table.stdout, /\ntenant +\d{4}-\d{2}-\d{2} +2\.000000 +1\.250000 +0\.300000 +0\.450000 +OK\n/);

    await budgets.settle({ tenant, reservationId: 'usage:y', actualMicroUsd: 500_000 });
    const warned = JSON.parse((await llmgov('budgets', 'show', '--tenant', tenant, '--json')).stdout) as BudgetsReport;
    assert.equal(warned.budgets[0]!.budget_alert, 'WARN_80', '1.75 of 2 USD is 87.5 %');
  });

  it('refuses bad input with a reason and exit code 1', async () => {
    for (const args of [
      ['budgets', 'set', '--tenant', 'Bad Tenant', '--period', 'day', '--usd', '1'],
      ['budgets', 'set', '--tenant', tenant, '--period', 'week', '--usd', '1'],
      ['budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '-1'],
      ['budgets', 'set', '--tenant', tenant, '--team', 'a', '--route', 'b', '--period', 'day', '--usd', '1'],
      ['budgets', 'show'],
    ]) {
      const r = await llmgov(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /(error: |llmgov: )\S/);
    }
  });
});
