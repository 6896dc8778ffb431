import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import Postgrator from 'postgrator';

/** Folder of the SQL migrations (`NNN.do.name.sql`, applied in order, recorded in `schema_migrations`). */
export const migrationsDir = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies pending migrations with postgrator, under a Postgres advisory lock so concurrent callers serialise.
 * @returns the versions applied by this call.
 */
export async function migrate(connectionString: string): Promise<number[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(727274)');
    const postgrator = new Postgrator({
      migrationPattern: path.join(migrationsDir(), '*.sql'),
      driver: 'pg',
      schemaTable: 'schema_migrations',
      execQuery: (query) => client.query(query),
    });
    const applied = await postgrator.migrate();
    return applied.map((m) => m.version);
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await client.end();
  }
}
