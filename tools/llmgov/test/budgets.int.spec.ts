/**
 * `llmgov budgets` as a user runs it: the built binary (`dist/src/main.js`) against the local stack's Redis and
 * Postgres (the active policy version of a test namespace), with reservations made through BudgetReservations as the
 * router makes them. Skipped without REDIS_URL and DATABASE_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parsePolicyText, policyTemplateRefs, templateFileName } from '@llmgov/policy';
import { BudgetKeys, BudgetReservations, PolicyRepository, RedisBudgetLimits, createPgPool, createRedis, migrate, type Redis } from '@llmgov/persistence';
import type { BudgetsReport } from '../src/commands/budgets.js';
import { repoRoot, runCli } from './support.js';

const REDIS_URL = process.env.REDIS_URL;
const DATABASE_URL = process.env.DATABASE_URL;
/** A policy namespace of this run only: `budgets show --namespace` reads its active version. */
const namespace = `cli-budgets-${randomUUID()}`;
const tenant = `cli-${randomUUID().slice(0, 8)}`;

/** Runs the CLI; resolves with stdout, stderr and the exit code (never rejects on a non-zero exit). */
const llmgov = (...args: string[]) => runCli(args);

describe('llmgov budgets against Redis and Postgres', { skip: REDIS_URL && DATABASE_URL ? false : 'REDIS_URL and DATABASE_URL are needed' }, () => {
  let redis: Redis;

  before(() => {
    redis = createRedis(REDIS_URL!);
  });
  after(async () => {
    for (const t of [tenant, `${tenant}-p`]) {
      const keys = await redis.keys(`budget:{${t}}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.srem(BudgetKeys.tenants, t);
    }
    redis.disconnect();
  });

  it('sets budgets (a dry run writes nothing) and shows spent, reserved, limit, remaining and the alert per scope', async () => {
    const dry = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '1', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: tenant \S+ tenant day budget: - -> 1\.000000 USD; nothing written\n$/);
    assert.deepEqual(await new RedisBudgetLimits(redis).list(tenant), []);

    const set = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '1');
    assert.match(set.stdout, /tenant day budget: - -> 1\.000000 USD \(override\)\n$/);
    assert.equal((await llmgov('budgets', 'set', '--tenant', tenant, '--team', 'search', '--period', 'month', '--usd', '0.5')).code, 0);
    const again = await llmgov('budgets', 'set', '--tenant', tenant, '--period', 'day', '--usd', '2');
    assert.match(again.stdout, /tenant day budget: 1\.000000 -> 2\.000000 USD \(override\)\n$/);

    const budgets = new BudgetReservations(redis, { limits: new RedisBudgetLimits(redis) });
    assert.equal((await budgets.reserve({ reservationId: 'a', tenant, team: 'search', amountMicroUsd: 300_000, leaseMs: 60_000 })).ok, true);
    await budgets.settle({ tenant, reservationId: 'usage:x', actualMicroUsd: 1_250_000 });

    const shown = await llmgov('budgets', 'show', '--tenant', tenant, '--json', '--namespace', namespace);
    assert.equal(shown.code, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as BudgetsReport;
    assert.equal(report.held_reservations, 1);
    assert.deepEqual(report.policy, { namespace, version: null });
    assert.ok(
      report.budgets.every((b) => b.limit_source === (b.limit_usd === null ? null : 'override')),
      'no policy version active: every limit is an override',
    );
    assert.deepEqual(
      report.budgets.map((b) => [b.scope, b.period, b.limit_usd, b.spent_usd, b.reserved_usd, b.remaining_usd, b.budget_alert]),
      [
        ['tenant', 'day', 2, 1.25, 0.3, 0.45, 'OK'],
        ['tenant', 'month', null, 1.25, 0.3, null, null],
        ['team:search', 'day', null, 0, 0.3, null, null],
        ['team:search', 'month', 0.5, 0, 0.3, 0.2, 'OK'],
      ],
    );
    const table = await llmgov('budgets', 'show', '--tenant', tenant, '--namespace', namespace);
    assert.match(table.stdout, /\ntenant +\d{4}-\d{2}-\d{2} +2\.000000 +1\.250000 +0\.300000 +0\.450000 +OK +degrade +override\n/);

    await budgets.settle({ tenant, reservationId: 'usage:y', actualMicroUsd: 500_000 });
    const warned = JSON.parse((await llmgov('budgets', 'show', '--tenant', tenant, '--json', '--namespace', namespace)).stdout) as BudgetsReport;
    assert.equal(warned.budgets[0]!.budget_alert, 'WARN_80', '1.75 of 2 USD is 87.5 %');
  });

  it("labels the active policy version's budgets, an override with the policy limit it replaces, and the policy's again after unset", async () => {
    const t = `${tenant}-p`;
    const document = parsePolicyText(readFileSync(path.join(repoRoot, 'infra/policies/local.yaml'), 'utf8'), 'local.yaml');
    document.tenants = { [t]: document.tenants['tenant-a']! };
    document.budgets = [
      { tenant: t, period: 'day', limit_usd: 3, alert_at: 0.8, throttle: 'degrade' },
      { tenant: t, route: 'contract-review', period: 'month', limit_usd: 0.5, alert_at: 0.9, throttle: 'refuse' },
    ];
    const templates = policyTemplateRefs(document).map((ref) => ({
      ...ref,
      content: JSON.parse(readFileSync(path.join(repoRoot, 'infra/prompts', templateFileName(ref)), 'utf8')) as Record<string, unknown>,
    }));
    await migrate(DATABASE_URL!);
    const pool = createPgPool(DATABASE_URL!, { max: 2 });
    let version: number;
    try {
      const repo = new PolicyRepository(pool, namespace);
      version = (await repo.apply({ document, templates, created_by: 'cli-test' })).version;
      await repo.activate(version, 'cli-test');
    } finally {
      await pool.end();
    }
    const show = async () => {
      const r = await llmgov('budgets', 'show', '--tenant', t, '--json', '--namespace', namespace);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as BudgetsReport;
    };
    const rows = (r: BudgetsReport) =>
      r.budgets.map((b) => [b.scope, b.period, b.limit_usd, b.limit_source, b.policy_version, b.policy_limit_usd, b.throttle, b.alert_at]);
    const first = await show();
    assert.deepEqual(first.policy, { namespace, version });
    assert.deepEqual(rows(first), [
      ['tenant', 'day', 3, 'policy', version, null, 'degrade', 0.8],
      ['route:contract-review', 'month', 0.5, 'policy', version, null, 'refuse', 0.9],
    ]);
    assert.equal((await llmgov('budgets', 'set', '--tenant', t, '--route', 'contract-review', '--period', 'month', '--usd', '0.05')).code, 0);
    assert.deepEqual(rows(await show())[1], ['route:contract-review', 'month', 0.05, 'override', version, 0.5, 'refuse', 0.9]);
    const table = await llmgov('budgets', 'show', '--tenant', t, '--namespace', namespace);
    assert.match(table.stdout, new RegExp(`; policy ${namespace} v${version}\n`));
    assert.match(table.stdout, new RegExp(`\nroute:contract-review .* refuse +override \\(policy v${version}: 0\\.500000\\)\n`));
    const unset = await llmgov('budgets', 'unset', '--tenant', t, '--route', 'contract-review', '--period', 'month');
    assert.match(unset.stdout, /override: 0\.050000 USD removed; the policy's budget applies\n$/);
    assert.deepEqual(rows(await show()), rows(first));
    const again = await llmgov('budgets', 'unset', '--tenant', t, '--route', 'contract-review', '--period', 'month');
    assert.match(again.stdout, /none was set; nothing written\n$/);
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
