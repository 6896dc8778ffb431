import pg from 'pg';
import { RetriableError } from '@llmgov/errors';

export type { Pool, PoolClient } from 'pg';

/** A pg Pool with a bounded size and a statement timeout (ms) on every connection. */
export function createPgPool(connectionString: string, opts: { max?: number; statementTimeoutMs?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 3000,
    statement_timeout: opts.statementTimeoutMs ?? 10_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Postgres SQLSTATE classes that may pass on retry: connection exceptions, serialization failures, deadlocks, admin shutdown. */
const RETRIABLE_SQLSTATE = /^(08|40|53|57P)/;

/**
 * Wraps Postgres errors so the Kafka runtime can classify them: connection loss, serialization failures,
 * deadlocks and resource exhaustion become RetriableError; other errors pass through unchanged.
 */
export function classifyPgError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (typeof code === 'string' && RETRIABLE_SQLSTATE.test(code))
    return new RetriableError(`postgres: ${(err as Error).message}`, 'postgres_unavailable', { cause: err });
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || /timeout|terminated|Connection/i.test(String((err as Error)?.message))) {
    return new RetriableError(`postgres: ${(err as Error).message}`, 'postgres_unavailable', { cause: err });
  }
  return err;
}

/** Runs `fn` in a transaction (BEGIN/COMMIT, ROLLBACK on error); errors are classified by classifyPgError. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw classifyPgError(err);
  }
  // pg-pool listens for errors only on idle clients: a checked-out client whose connection dies between two queries
  // emits 'error' with no listener, which would kill the process. Keep the error and fail the transaction with it.
  let lost: unknown;
  const onError = (err: unknown): void => void (lost ??= err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    if (lost !== undefined) throw lost;
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (lost === undefined) await client.query('ROLLBACK').catch(() => undefined);
    throw classifyPgError(lost ?? err);
  } finally {
    client.removeListener('error', onError);
    // A client whose connection failed is destroyed rather than returned to the pool.
    client.release(lost instanceof Error ? lost : lost !== undefined);
  }
}
