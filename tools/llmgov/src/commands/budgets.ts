import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { loadConfig, platformEnvSchema } from '@llmgov/config';
import { alertState, billingDay, billingMonth, microUsdToUsd, usdToMicroUsd, type BudgetLevel, type BudgetPeriodKind } from '@llmgov/billing';
import {
  BudgetReservations,
  RedisBudgetLimits,
  TENANT_ID_RE,
  createRedis,
  requestScopes,
  scopeKeyPart,
  scopeLabel,
  type BudgetScope,
  type CounterState,
  type Redis,
  type ScopeLimit,
} from '@llmgov/persistence';

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
  /** OK below 80 % of the limit, WARN_80 from 80 %, EXCEEDED_100 from 100 % (reservations are refused); null without a limit. */
  budget_alert: BudgetLevel | 'OK' | null;
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
    return [
      {
        scope: scopeLabel(c.scope),
        period: c.period,
        period_id: c.periodId,
        limit_usd: limit ? microUsdToUsd(limit.limitMicroUsd) : null,
        spent_usd: microUsdToUsd(c.spentMicroUsd),
        reserved_usd: microUsdToUsd(c.reservedMicroUsd),
        remaining_usd: remaining === null ? null : microUsdToUsd(remaining),
        budget_alert: limit ? alertState(c.spentMicroUsd, limit.limitMicroUsd) : null,
        order: [KIND_ORDER[c.scope.kind], c.scope.kind === 'tenant' ? '' : c.scope.name, c.period === 'day' ? 0 : 1],
      },
    ];
  });
  rows.sort((a, b) => a.order[0] - b.order[0] || a.order[1].localeCompare(b.order[1]) || a.order[2] - b.order[2]);
  return rows.map(({ order: _order, ...row }) => row);
}

const usd = (v: number | null) => (v === null ? '-' : v.toFixed(6));

/** The report as an aligned text table. Pure. */
export function formatBudgetsTable(r: BudgetsReport): string {
  const head = ['SCOPE', 'PERIOD', 'LIMIT_USD', 'SPENT_USD', 'RESERVED_USD', 'REMAINING_USD', 'ALERT'];
  const body = r.budgets.map((b) => [
    b.scope,
    b.period_id,
    usd(b.limit_usd),
    usd(b.spent_usd),
    usd(b.reserved_usd),
    usd(b.remaining_usd),
    b.budget_alert ?? '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const title = `tenant ${r.tenant}: day ${r.day}, month ${r.month} (UTC); ${r.held_reservations} reservation(s) held`;
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

interface ShowOptions {
  tenant: string;
  json?: boolean;
}

/**
 * Registers `llmgov budgets set` and `llmgov budgets show`. Both read `REDIS_URL` (default: the local stack's).
 * - `set --tenant T [--team X | --route R] --period day|month --usd N [--dry-run]`: the budget of one scope per UTC
 *   day or month, in USD (stored as whole micro-USD); `--dry-run` prints the change and writes nothing.
 * - `show --tenant T [--json]`: per scope and period (today, this month): limit, spent, reserved, remaining and the
 *   alert state (OK, WARN_80 at 80 %, EXCEEDED_100 at 100 %, when reservations are refused).
 */
export function registerBudgetsCommands(program: Command): void {
  const budgets = program.command('budgets').description('Budgets per tenant, team and route, per UTC day and month; reserved before dispatch (ADR 0007).');

  budgets
    .command('set')
    .description('Set the budget of a tenant, or of one of its teams or routes, for a UTC day or month.')
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
        process.stdout.write(`${what}: ${usd(previous === null ? null : microUsdToUsd(previous))} -> ${usd(microUsdToUsd(micro))} USD\n`);
      });
    });

  budgets
    .command('show')
    .description("Show a tenant's budgets for today and this month (UTC): spent, reserved, limit, remaining and alert state per scope.")
    .requiredOption('--tenant <id>', 'tenant id', parseTenant)
    .option('--json', 'print JSON (BudgetsReport) instead of a table')
    .action(async (opts: ShowOptions) => {
      await withRedis(async (redis) => {
        const limitSource = new RedisBudgetLimits(redis);
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
          budgets: budgetRows(snapshot.counters, limits),
        };
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatBudgetsTable(report));
      });
    });
}
