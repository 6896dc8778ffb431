import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { alertState, billingDay, billingMonth, microUsdToUsd, usdToMicroUsd, type BudgetLevel, type BudgetPeriodKind } from '@llmgov/billing';
import {
  BudgetReservations,
  DEFAULT_ALERT_AT,
  DEFAULT_THROTTLE,
  EffectiveBudgetLimits,
  PolicyBudgetLimits,
  PolicyRepository,
  RedisBudgetLimits,
  TENANT_ID_RE,
  createRedis,
  requestScopes,
  scopeKeyPart,
  scopeLabel,
  type BudgetScope,
  type BudgetThrottle,
  type CounterState,
  type Redis,
  type ScopeLimit,
} from '@llmgov/persistence';
import { withDatabase, withStoreOptions, type StoreOptions } from '../cli.js';

/** One budget as `llmgov budgets show` prints it. Amounts in USD. */
export interface BudgetRow {
  /** `tenant`, `team:<name>` or `route:<name>`. */
  scope: string;
  period: BudgetPeriodKind;
  /** `YYYY-MM-DD` or `YYYY-MM` (UTC). */
  period_id: string;
  /** null: no budget set for this scope and period (its spend is still counted). */
  limit_usd: number | null;
  spent_usd: number;
  /** Held reservations: worst cases of requests in flight. */
  reserved_usd: number;
  /** limit - spent - reserved, at least 0; what a new reservation may take. null without a limit. */
  remaining_usd: number | null;
  /** OK below the alert threshold, WARN_80 from it (`alert_at`, default 80 %), EXCEEDED_100 from 100 % (reservations are refused); null without a limit. */
  budget_alert: BudgetLevel | 'OK' | null;
  /** Where the limit comes from: `policy` (the active version's budget), `override` (`llmgov budgets set`), null without a limit. */
  limit_source: 'policy' | 'override' | null;
  /** The policy version the limit comes from; for an override, the version whose budget it replaces (null: none declared). */
  policy_version: number | null;
  /** For an override: the limit the active policy declares for the scope and period (USD), which it replaces; else null. */
  policy_limit_usd: number | null;
  /** Fraction of the limit at which WARN_80 fires; null without a limit. */
  alert_at: number | null;
  /** What a reservation over the limit gets (degrade or refuse); null without a limit. */
  throttle: BudgetThrottle | null;
}

/** The `--json` document of `llmgov budgets show`. */
export interface BudgetsReport {
  tenant: string;
  /** The instant the periods were taken from (ISO 8601, UTC). */
  at: string;
  day: string;
  month: string;
  /** Reservations held right now (expired leases swept first). */
  held_reservations: number;
  /** The policy namespace whose active version's budgets are shown, and that version (null: none active). */
  policy: { namespace: string; version: number | null };
  budgets: BudgetRow[];
}

const KIND_ORDER = { tenant: 0, team: 1, route: 2 } as const;

/**
 * Joins counters and limits into rows: every scope and period with a limit or with spend or reservations, tenant
 * first, then teams and routes by name, day before month. Pure.
 */
export function budgetRows(counters: readonly CounterState[], limits: readonly ScopeLimit[]): BudgetRow[] {
  const rows = counters.flatMap((c): (BudgetRow & { order: [number, string, number] })[] => {
    const limit = limits.find((l) => l.period === c.period && scopeKeyPart(l.scope) === scopeKeyPart(c.scope));
    if (!limit && !c.exists) return [];
    const remaining = limit ? Math.max(0, limit.limitMicroUsd - c.spentMicroUsd - c.reservedMicroUsd) : null;
    const origin = limit?.origin;
    // A limit whose source does not say where it comes from is an override: only the policy source labels its own.
    const source = !limit ? null : origin?.kind === 'policy' ? 'policy' : 'override';
    const shadows = origin?.kind === 'override' ? origin.shadows : null;
    return [
      {
        scope: scopeLabel(c.scope),
        period: c.period,
        period_id: c.periodId,
        limit_usd: limit ? microUsdToUsd(limit.limitMicroUsd) : null,
        spent_usd: microUsdToUsd(c.spentMicroUsd),
        reserved_usd: microUsdToUsd(c.reservedMicroUsd),
        remaining_usd: remaining === null ? null : microUsdToUsd(remaining),
        budget_alert: limit ? alertState(c.spentMicroUsd, limit.limitMicroUsd, limit.alertAt ?? DEFAULT_ALERT_AT) : null,
        limit_source: source,
        policy_version: origin?.kind === 'policy' ? origin.version : (shadows?.version ?? null),
        policy_limit_usd: shadows ? microUsdToUsd(shadows.limitMicroUsd) : null,
        alert_at: limit ? (limit.alertAt ?? DEFAULT_ALERT_AT) : null,
        throttle: limit ? (limit.throttle ?? DEFAULT_THROTTLE) : null,
        order: [KIND_ORDER[c.scope.kind], c.scope.kind === 'tenant' ? '' : c.scope.name, c.period === 'day' ? 0 : 1],
      },
    ];
  });
  rows.sort((a, b) => a.order[0] - b.order[0] || a.order[1].localeCompare(b.order[1]) || a.order[2] - b.order[2]);
  return rows.map(({ order: _order, ...row }) => row);
}

const usd = (v: number | null) => (v === null ? '-' : v.toFixed(6));

/** Where a row's limit comes from, as the table prints it: `policy v3`, `override`, `override (policy v3: 2.000000)`, `-`. */
export function sourceText(b: Pick<BudgetRow, 'limit_source' | 'policy_version' | 'policy_limit_usd'>): string {
  if (b.limit_source === 'policy') return `policy v${b.policy_version}`;
  if (b.limit_source === 'override') return b.policy_limit_usd === null ? 'override' : `override (policy v${b.policy_version}: ${usd(b.policy_limit_usd)})`;
  return '-';
}

/** The report as an aligned text table. Pure. */
export function formatBudgetsTable(r: BudgetsReport): string {
  const head = ['SCOPE', 'PERIOD', 'LIMIT_USD', 'SPENT_USD', 'RESERVED_USD', 'REMAINING_USD', 'ALERT', 'THROTTLE', 'SOURCE'];
  const body = r.budgets.map((b) => [
    b.scope,
    b.period_id,
    usd(b.limit_usd),
    usd(b.spent_usd),
    usd(b.reserved_usd),
    usd(b.remaining_usd),
    b.budget_alert ?? '-',
    b.throttle ?? '-',
    sourceText(b),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const policy =
    r.policy.version === null ? `no policy version active in namespace ${r.policy.namespace}` : `policy ${r.policy.namespace} v${r.policy.version}`;
  const title = `tenant ${r.tenant}: day ${r.day}, month ${r.month} (UTC); ${r.held_reservations} reservation(s) held; ${policy}`;
  if (body.length === 0) return `${title}\nno budgets and no spend yet (set one with: llmgov budgets set --tenant ${r.tenant} --period month --usd N)\n`;
  return `${title}\n${[line(head), ...body.map(line)].join('\n')}\n`;
}

/** `--usd`: a USD amount >= 0. */
export function parseUsd(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a USD amount >= 0, e.g. 12.5');
  try {
    usdToMicroUsd(n);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return n;
}

/** `--tenant`: a platform tenant id. */
export function parseTenant(v: string): string {
  if (!TENANT_ID_RE.test(v)) throw new InvalidArgumentError('expected a tenant id: [a-z0-9][a-z0-9_-]{0,63}');
  return v;
}

/**
 * The one scope a budget applies to: the tenant, or one of its teams (`--team`), or one of its routes (`--route`).
 * @throws InvalidArgumentError for both --team and --route, or a malformed name.
 */
export function scopeOf(tenant: string, team: string | undefined, route: string | undefined): BudgetScope {
  if (team !== undefined && route !== undefined) throw new InvalidArgumentError('a budget applies to one scope: give --team or --route, not both');
  if (team === '' || route === '') throw new InvalidArgumentError('--team and --route need a name');
  try {
    const scopes = requestScopes(tenant, team, route);
    return scopes[scopes.length - 1]!;
  } catch (err) {
    throw new InvalidArgumentError((err as { reasons?: string[] }).reasons?.join('; ') ?? (err as Error).message);
  }
}

function connect(): Redis {
  const { REDIS_URL } = loadConfig(z.object({ REDIS_URL: platformEnvSchema.shape.REDIS_URL }));
  return createRedis(REDIS_URL);
}

async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

interface SetOptions {
  tenant: string;
  team?: string;
  route?: string;
  period: BudgetPeriodKind;
  usd: number;
  dryRun?: boolean;
}

interface UnsetOptions {
  tenant: string;
  team?: string;
  route?: string;
  period: BudgetPeriodKind;
}

interface ShowOptions extends StoreOptions {
  tenant: string;
}

/**
 * Registers `llmgov budgets set`, `unset` and `show`. They read `REDIS_URL` (default: the local stack's); `show` also
 * reads the active policy version from Postgres (`DATABASE_URL`). The limits in force are the active policy version's
 * `budgets`, except where an operator set an override (ADR 0007).
 * - `set --tenant T [--team X | --route R] --period day|month --usd N [--dry-run]`: an override of one scope's
 *   budget per UTC day or month, in USD (stored as whole micro-USD); it wins over the policy until `unset`;
 *   `--dry-run` prints the change and writes nothing.
 * - `unset --tenant T [--team X | --route R] --period day|month`: removes the override; the policy's budget applies again.
 * - `show --tenant T [--json] [--namespace N]`: per scope and period (today, this month): limit, spent, reserved,
 *   remaining, the alert state (OK, WARN_80 from the budget's alert_at, EXCEEDED_100 at 100 %, when reservations are
 *   throttled), the throttle, and where the limit comes from (policy version N of namespace N, or override).
 */
export function registerBudgetsCommands(program: Command): void {
  const budgets = program
    .command('budgets')
    .description(
      "Budgets per tenant, team and route, per UTC day and month, reserved before dispatch (ADR 0007): the active policy's budgets, or an operator's override.",
    );

  budgets
    .command('set')
    .description(
      "Override the budget of a tenant, or of one of its teams or routes, for a UTC day or month: it wins over the active policy's until `budgets unset`.",
    )
    .requiredOption('--tenant <id>', 'tenant id', parseTenant)
    .option('--team <name>', 'the budget of this team of the tenant')
    .option('--route <name>', 'the budget of this route (named use case) of the tenant')
    .addOption(new Option('--period <period>', 'budget period (UTC)').choices(['day', 'month']).makeOptionMandatory())
    .requiredOption('--usd <amount>', 'budget in USD per period', parseUsd)
    .option('--dry-run', 'print the change without writing it')
    .action(async (opts: SetOptions) => {
      const scope = scopeOf(opts.tenant, opts.team, opts.route);
      const micro = usdToMicroUsd(opts.usd);
      await withRedis(async (redis) => {
        const limits = new RedisBudgetLimits(redis);
        const what = `tenant ${opts.tenant} ${scopeLabel(scope)} ${opts.period} budget`;
        if (opts.dryRun) {
          const now = (await limits.list(opts.tenant)).find((l) => l.period === opts.period && scopeKeyPart(l.scope) === scopeKeyPart(scope));
          process.stdout.write(
            `dry run: ${what}: ${usd(now ? microUsdToUsd(now.limitMicroUsd) : null)} -> ${usd(microUsdToUsd(micro))} USD; nothing written\n`,
          );
          return;
        }
        const previous = await limits.set(opts.tenant, scope, opts.period, micro);
        process.stdout.write(`${what}: ${usd(previous === null ? null : microUsdToUsd(previous))} -> ${usd(microUsdToUsd(micro))} USD (override)\n`);
      });
    });

  budgets
    .command('unset')
    .description("Remove the override of a scope's budget: the active policy's budget (if it declares one) applies again.")
    .requiredOption('--tenant <id>', 'tenant id', parseTenant)
    .option('--team <name>', 'the budget of this team of the tenant')
    .option('--route <name>', 'the budget of this route (named use case) of the tenant')
    .addOption(new Option('--period <period>', 'budget period (UTC)').choices(['day', 'month']).makeOptionMandatory())
    .action(async (opts: UnsetOptions) => {
      const scope = scopeOf(opts.tenant, opts.team, opts.route);
      await withRedis(async (redis) => {
        const previous = await new RedisBudgetLimits(redis).set(opts.tenant, scope, opts.period, null);
        const what = `tenant ${opts.tenant} ${scopeLabel(scope)} ${opts.period} budget override`;
        process.stdout.write(
          previous === null
            ? `${what}: none was set; nothing written\n`
            : `${what}: ${usd(microUsdToUsd(previous))} USD removed; the policy's budget applies\n`,
        );
      });
    });

  withStoreOptions(
    budgets
      .command('show')
      .description(
        "Show a tenant's budgets for today and this month (UTC): spent, reserved, limit, remaining, alert state, throttle and the limit's source (policy version or override) per scope.",
      )
      .requiredOption('--tenant <id>', 'tenant id', parseTenant),
  ).action(async (opts: ShowOptions) => {
    const active = await withDatabase((pool) => new PolicyRepository(pool, opts.namespace).active());
    const policy = new PolicyBudgetLimits();
    policy.apply(active && { namespace: opts.namespace, version: active.version, document: active.document });
    await withRedis(async (redis) => {
      const limitSource = new EffectiveBudgetLimits(new RedisBudgetLimits(redis), policy);
      const reservations = new BudgetReservations(redis, { limits: limitSource });
      const now = Date.now();
      const limits = await limitSource.list(opts.tenant);
      const snapshot = await reservations.snapshot(opts.tenant, { at: now, extraScopes: limits.map((l) => l.scope) });
      const report: BudgetsReport = {
        tenant: opts.tenant,
        at: new Date(now).toISOString(),
        day: billingDay(now),
        month: billingMonth(now),
        held_reservations: snapshot.held,
        policy: { namespace: opts.namespace, version: active?.version ?? null },
        budgets: budgetRows(snapshot.counters, limits),
      };
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatBudgetsTable(report));
    });
  });
}
