import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import Postgrator from 'postgrator';

/** Folder of the SQL migrations (`NNN.do.name.sql`, applied in order, recorded in `schema_migrations`). */
export const migrationsDir = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies pending migrations with postgrator, under a Postgres advisory lock so concurrent callers serialise.
 * @returns the versions applied by this call.
 * @throws Error naming any migration file left unapplied because it is numbered below an applied one.
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
    // postgrator only moves forward from the highest applied version: a migration merged in with a lower number than
    // one already applied would be skipped silently, leaving the schema short of what the code expects.
    const done = new Set(
      (await client.query<{ version: string }>('SELECT version::text AS version FROM schema_migrations')).rows.map((r) => Number(r.version)),
    );
    const skipped = (await postgrator.getMigrations()).filter((m) => m.action === 'do' && !done.has(m.version)).map((m) => m.filename);
    if (skipped.length > 0) {
      throw new Error(`migrations ${skipped.join(', ')} are numbered below the highest applied version and were not applied; renumber them above it`);
    }
    return applied.map((m) => m.version);
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await client.end();
  }
}
