/**
 * `llmgov feedback agreement` as a user runs it: the built binary against the local stack's Postgres, on `labels` rows of a
 * tenant of this run only (written as the feedback-labeler writes them). Skipped without DATABASE_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgPool, labelVerdictTable, migrate, type Pool } from '@llmgov/persistence';
import type { AgreementReport } from '../src/commands/feedback.js';
import { runCli } from './support.js';

const DATABASE_URL = process.env.DATABASE_URL;
const tenant = `cli-fb-${randomUUID().slice(0, 8)}`;

const llmgov = (...args: string[]) => runCli(args);

describe('llmgov feedback agreement against Postgres', { skip: DATABASE_URL ? false : 'DATABASE_URL is needed' }, () => {
  let pool: Pool;

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!, { max: 2 });
    // 3 GOOD+PASS, 1 GOOD+FALLBACK, 1 BAD+PASS, 3 BAD+FALLBACK, and one label without a verdict (not compared).
    const rows: [string, string | null][] = [
      ['GOOD', 'PASS'],
      ['GOOD', 'PASS'],
      ['GOOD', 'PASS'],
      ['GOOD', 'FALLBACK'],
      ['BAD', 'PASS'],
      ['BAD', 'FALLBACK'],
      ['BAD', 'REFUSE'],
      ['BAD', 'FAIL_PII'],
      ['GOOD', null],
    ];
    for (const [label, verdict] of rows)
      await pool.query(
        `INSERT INTO labels (feedback_event_id, job_id, tenant_id, label, source, judge_verdict, agrees_with_judge) VALUES ($1, $2, $3, $4, 'EXPLICIT', $5, $6)`,
        [randomUUID(), randomUUID(), tenant, label, verdict, verdict === null ? null : (label === 'GOOD') === (verdict === 'PASS')],
      );
  });
  after(async () => {
    await pool.query('DELETE FROM labels WHERE tenant_id = $1', [tenant]);
    await pool.end();
  });

  it('reports the table, the rate and kappa of one tenant as JSON, the same as the shared query', async () => {
    const r = await llmgov('feedback', 'agreement', '--tenant', tenant, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as AgreementReport;
    assert.deepEqual(report.table, { goodPass: 3, goodNotPass: 1, badPass: 1, badNotPass: 3 });
    assert.deepEqual(report.table, await labelVerdictTable(pool, tenant));
    assert.equal(report.tenant_id, tenant);
    assert.equal(report.compared, 8);
    assert.equal(report.agreed, 6);
    assert.equal(report.rate, 0.75);
    assert.equal(report.kappa, 0.5); // po 0.75, pe 0.5
  });

  it('prints a text table, and refuses a malformed tenant id with a reason', async () => {
    const text = await llmgov('feedback', 'agreement', '--tenant', tenant);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Cohen's kappa: 0\.5000/);
    const bad = await llmgov('feedback', 'agreement', '--tenant', 'Bad Tenant!');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /tenant id/);
  });
});
