import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type Connection, type Table } from '@lancedb/lancedb';
import { filterKey, sqlString } from './sql.js';

const HOSTILE = ["x' OR '1'='1", "x\\' OR 1=1 --", "'; DELETE FROM t; --", '\\', "'", "''", 'naïve "quoted"', '%', '_'];

describe('sqlString against a real LanceDB filter', () => {
  let dir: string;
  let db: Connection;
  let table: Table;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llmgov-sql-'));
    db = await connect(dir);
    table = await db.createTable(
      't',
      [...HOSTILE, 'plain', 'x'].map((name, i) => ({ i, name })),
    );
  });
  after(async () => {
    table.close();
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('doubles single quotes and refuses NUL', () => {
    assert.equal(sqlString("it's"), "'it''s'");
    assert.throws(() => sqlString('a\u0000b'));
  });

  it('matches exactly the one row with that value, for every hostile value (no escape through backslash)', async () => {
    for (const value of HOSTILE) {
      const rows = (await table
        .query()
        .where(`name = ${sqlString(value)}`)
        .toArray()) as { name: string }[];
      assert.deepEqual(
        rows.map((r) => r.name),
        [value],
        `value ${JSON.stringify(value)}`,
      );
    }
    assert.equal(await table.countRows(`name = ${sqlString("nobody' OR 'a'='a")}`), 0);
  });

  it('filterKey is 64 hex characters and tuple-safe', () => {
    assert.match(filterKey("x' OR '1'='1"), /^[0-9a-f]{64}$/);
    assert.notEqual(filterKey('a', 'bc'), filterKey('ab', 'c'));
    assert.equal(filterKey('t'), filterKey('t'));
  });
});
