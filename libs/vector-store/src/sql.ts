import { createHash } from 'node:crypto';
import { VectorStoreError } from './errors.js';

/**
 * A SQL string literal for LanceDB (DataFusion) filter expressions: single quotes are doubled, as
 * in standard SQL. DataFusion does not treat backslash as an escape character, so `\'` cannot
 * end the literal early (a spec checks this against a real table). NUL is refused outright.
 */
export function sqlString(value: string): string {
  if (typeof value !== 'string') throw new VectorStoreError('SQL literal must be a string', 'invalid_argument');
  if (value.includes('\u0000')) throw new VectorStoreError('NUL characters are not allowed in filter values', 'invalid_argument');
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Hex SHA-256 of a tuple of strings (JSON-encoded, so tuples cannot collide by concatenation).
 *
 * The LanceDB store filters on these digests (`tenantKey`, `documentKey`) rather than on the raw
 * ids: a filter literal is then always 64 hex characters, so no tenant or document id, however
 * hostile, ever reaches the SQL parser. The raw ids are stored alongside for reading.
 */
export function filterKey(...parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
