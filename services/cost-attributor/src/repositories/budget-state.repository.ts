import { Inject, Injectable } from '@nestjs/common';
import { BudgetKeys, REDIS, RedisKeys, type Redis } from '@llmgov/persistence';
import { RetriableError } from '@llmgov/errors';
import type { BudgetAlertLevel } from '@llmgov/contracts';

/** Budget keys outlive their month so late events of the previous month still find them: 62 days, in seconds. */
const BUDGET_KEY_TTL_S = 62 * 24 * 3600;

/**
 * Fire-once marker of a budget alert: `budget:alert:<tenant>:<YYYY-MM>:<level>`. Only this service reads and
 * writes it, so it lives here rather than in the shared RedisKeys.
 */
export const budgetAlertKey = (tenantId: string, month: string, level: BudgetAlertLevel) => `budget:alert:${tenantId}:${month}:${level}`;

/** Redis budget state: month-to-date spend (read by the router) and the alert fire-once markers. */
@Injectable()
export class BudgetStateRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /**
   * `SET budget:spent:<tenant>:<YYYY-MM> <micro-USD>` (a SET of the Postgres total, never INCR, so replays are idempotent).
   * @throws RetriableError when Redis cannot be reached.
   */
  async setSpent(tenantId: string, month: string, microUsd: number): Promise<void> {
    await this.call(() => this.redis.set(RedisKeys.budgetSpent(tenantId, month), String(microUsd), 'EX', BUDGET_KEY_TTL_S));
  }

  /** True when the alert was already published for this tenant, month and level. */
  async alertSent(tenantId: string, month: string, level: BudgetAlertLevel): Promise<boolean> {
    return (await this.call(() => this.redis.exists(budgetAlertKey(tenantId, month, level)))) > 0;
  }

  /** Records that the alert was published (`SET ... NX`). @returns false when it was already recorded. */
  async markAlertSent(tenantId: string, month: string, level: BudgetAlertLevel): Promise<boolean> {
    return (await this.call(() => this.redis.set(budgetAlertKey(tenantId, month, level), '1', 'EX', BUDGET_KEY_TTL_S, 'NX'))) === 'OK';
  }

  /** True when the alert of a reservation-path budget (counter `<scope>|<period>`) was already published at `level`. */
  async scopeAlertSent(tenantId: string, counter: string, level: BudgetAlertLevel): Promise<boolean> {
    return (await this.call(() => this.redis.exists(BudgetKeys.alert(tenantId, counter, level)))) > 0;
  }

  /** Records that the alert of a counter was published (`SET ... NX`). @returns false when it was already recorded. */
  async markScopeAlertSent(tenantId: string, counter: string, level: BudgetAlertLevel): Promise<boolean> {
    return (await this.call(() => this.redis.set(BudgetKeys.alert(tenantId, counter, level), '1', 'EX', BUDGET_KEY_TTL_S, 'NX'))) === 'OK';
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
    }
  }
}
