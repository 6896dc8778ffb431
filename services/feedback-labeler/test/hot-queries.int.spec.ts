/**
 * Guard: the feedback labeler's hot queries (pending feedback by job, label existence and insert, judged result
 * upsert and lookup) use an index on populated tables; a sequential scan of one of its tables fails the test.
 * The agreement report (`agreementTable`) is an aggregate over all labels and is not a hot path.
 * Needs the local stack (DATABASE_URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { explainingPool } from '@llmgov/testing';
import { LabelsRepository } from '../src/repositories/labels.repository.js';
import { JudgedResultsRepository } from '../src/repositories/judged-results.repository.js';

const DATABASE_URL = process.env.DATABASE_URL;
const ROWS = 20_000;
const BIG_TABLES = new Set(['pending_feedback', 'labels', 'judged_results']);

describe('feedback-labeler hot queries use their indexes', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set', timeout: 120_000 }, () => {
  const tenant = `explain-${randomUUID().slice(0, 8)}`;
  let pool: Pool;

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 2 });
    await pool.query(
      `INSERT INTO pending_feedback (feedback_event_id, job_id, tenant_id, kind) SELECT $1 || '-' || i, $1 || '-job-' || i, $1, 'THUMBS_UP' FROM generate_series(1, $2::int) AS i`,
      [tenant, ROWS],
    );
    await pool.query(
      `INSERT INTO labels (feedback_event_id, job_id, tenant_id, label, source) SELECT $1 || '-l-' || i, $1 || '-job-' || i, $1, 'GOOD', 'EXPLICIT' FROM generate_series(1, $2::int) AS i`,
      [tenant, ROWS],
    );
    await pool.query(
      `INSERT INTO judged_results (job_id, tenant_id, verdict, groundedness, final_text, model, tier) SELECT $1 || '-job-' || i, $1, 'PASS', 1, 'x', 'm', 'S' FROM generate_series(1, $2::int) AS i`,
      [tenant, ROWS],
    );
    for (const t of BIG_TABLES) await pool.query(`ANALYZE ${t}`);
  });

  after(async () => {
    for (const t of BIG_TABLES) await pool.query(`DELETE FROM ${t} WHERE tenant_id = $1`, [tenant]);
    await pool.end();
  });

  it('pending feedback, labels and judged results', async () => {
    const { pool: p, plans } = explainingPool(pool);
    const labels = new LabelsRepository(p);
    const judged = new JudgedResultsRepository(p);
    const jobId = `${tenant}-job-new`;
    await labels.savePending({ feedback_event_id: `${tenant}-fb-new`, job_id: jobId, tenant_id: tenant, kind: 'THUMBS_DOWN', correction: null });
    assert.equal((await labels.pendingFor(jobId)).length, 1);
    await labels.deletePending(`${tenant}-fb-new`);
    assert.equal(await labels.labelExists(`${tenant}-l-42`), true);
    await labels.insertLabel({
      feedback_event_id: `${tenant}-l-new`,
      job_id: jobId,
      tenant_id: tenant,
      label: 'BAD',
      source: 'EXPLICIT',
      judge_verdict: null,
      agrees_with_judge: null,
      correction: null,
    });
    await judged.upsert({
      job_id: jobId,
      tenant_id: tenant,
      verdict: 'PASS',
      groundedness: 0.9,
      final_text: 'y',
      model: 'm',
      tier: 'S',
      judgedAtMs: Date.parse('2026-01-01T00:00:00Z'),
    });
    assert.equal((await judged.find(jobId))?.verdict, 'PASS');
    assert.ok(plans.length >= 7, `expected the repositories' statements to be planned, got ${plans.length}`);
    assert.deepEqual(
      plans.filter((q) => q.seqScans.some((t) => BIG_TABLES.has(t))).map((q) => q.sql),
      [],
    );
  });
});
