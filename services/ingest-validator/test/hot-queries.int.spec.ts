/**
 * Guard: the hot queries of ingest-validator's repositories use an index on populated tables. Each repository
 * runs against a pool that plans every statement with EXPLAIN first (explainingPool); a sequential scan of
 * `jobs` or `documents` fails the test. Needs the local stack (DATABASE_URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { newEnvelope } from '@llmgov/kafka-runtime';
import { explainingPool, type PlannedQuery } from '@llmgov/testing';
import { JobsRepository } from '../src/repositories/jobs.repository.js';
import { DocumentsRepository } from '../src/repositories/documents.repository.js';

const DATABASE_URL = process.env.DATABASE_URL;
const ROWS = 20_000;
const BIG_TABLES = new Set(['jobs', 'documents']);

const seqScansOfBigTables = (plans: PlannedQuery[]) => plans.filter((p) => p.seqScans.some((t) => BIG_TABLES.has(t)));

describe('ingest-validator hot queries use their indexes', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set', timeout: 120_000 }, () => {
  const tenant = `explain-${randomUUID().slice(0, 8)}`;
  let pool: Pool;

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 2 });
    await pool.query(
      `INSERT INTO jobs (job_id, tenant_id, idempotency_key, state, stage, request)
       SELECT gen_random_uuid(), $1, 'k-' || i, 'validating', 'ingest', '{"prompt":"p"}'::jsonb FROM generate_series(1, $2::int) AS i`,
      [tenant, ROWS],
    );
    await pool.query(
      `INSERT INTO documents (tenant_id, document_id, content_hash) SELECT $1, 'doc-' || i, md5(i::text) FROM generate_series(1, $2::int) AS i`,
      [tenant, ROWS],
    );
    await pool.query('ANALYZE jobs');
    await pool.query('ANALYZE documents');
  });

  after(async () => {
    await pool.query('DELETE FROM jobs WHERE tenant_id = $1', [tenant]);
    await pool.query('DELETE FROM documents WHERE tenant_id = $1', [tenant]);
    await pool.end();
  });

  it('flags a cast on the indexed job_id (the guard can fail)', async () => {
    const { pool: p, plans } = explainingPool(pool);
    await p.query('SELECT * FROM jobs WHERE job_id::text = $1', [randomUUID()]);
    assert.deepEqual(plans[0]?.seqScans, ['jobs']);
  });

  it('JobsRepository: create, idempotent create, find, applyStatus, delete', async () => {
    const { pool: p, plans } = explainingPool(pool);
    const repo = new JobsRepository(p);
    const jobId = randomUUID();
    const created = await repo.create({ jobId, tenantId: tenant, idempotencyKey: `guard-${jobId}`, request: { prompt: 'q' } });
    assert.equal(created.created, true);
    const again = await repo.create({ jobId: randomUUID(), tenantId: tenant, idempotencyKey: `guard-${jobId}`, request: { prompt: 'q' } });
    assert.equal(again.job.job_id, jobId);
    const sameId = await repo.create({ jobId, tenantId: tenant, idempotencyKey: null, request: { prompt: 'q' } });
    assert.equal(sameId.created, false);
    assert.equal((await repo.find(tenant, jobId))?.job_id, jobId);
    const ev = { ...newEnvelope(tenant, jobId), job_id: jobId, state: 'in_progress' as const, stage: 'router', result: null, error: null };
    assert.equal(await repo.applyStatus(ev), 'applied');
    await repo.delete(jobId);
    assert.ok(plans.length >= 6, `expected the repository's statements to be planned, got ${plans.length}`);
    assert.deepEqual(
      seqScansOfBigTables(plans).map((p) => p.sql),
      [],
    );
  });

  it('JobsRepository: a path id that is not a UUID finds nothing, without an error', async () => {
    const repo = new JobsRepository(pool);
    assert.equal(await repo.find(tenant, "1' OR '1'='1"), undefined);
    assert.equal(await repo.find(tenant, 'a\u0000b'), undefined);
    const ev = { ...newEnvelope(tenant, 'not-a-uuid'), job_id: 'not-a-uuid', state: 'failed' as const, stage: 'x', result: null, error: null };
    assert.equal(await repo.applyStatus(ev), 'unknown_job');
  });

  it('DocumentsRepository: dedupe lookup and hash upsert', async () => {
    const { pool: p, plans } = explainingPool(pool);
    const repo = new DocumentsRepository(p);
    assert.equal(await repo.currentHash(tenant, 'doc-77'), (await pool.query<{ h: string }>("SELECT md5('77') AS h")).rows[0]!.h);
    await repo.recordHash(tenant, 'doc-new', 'abc');
    assert.equal(plans.length, 2);
    assert.deepEqual(
      seqScansOfBigTables(plans).map((p) => p.sql),
      [],
    );
  });
});
