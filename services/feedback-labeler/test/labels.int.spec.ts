import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type { FeedbackKind, FeedbackSubmitted, InferenceJudged, LabelCurated } from '@llmgov/contracts';
import { JudgedResultsRepository } from '../src/repositories/judged-results.repository.js';
import { LabelsRepository } from '../src/repositories/labels.repository.js';
import { LabelingService } from '../src/services/labeling.service.js';
import { LabelerMetrics } from '../src/services/labeler-metrics.js';
import { judgedRecord } from '../src/test/records.js';

// Needs the local stack (`infra/local/up.sh`, then `set -a; . .local/stack.env`); skipped when DATABASE_URL is absent.
const DATABASE_URL = process.env.DATABASE_URL;

describe('LabelingService against Postgres', { skip: DATABASE_URL ? false : 'DATABASE_URL is not set' }, () => {
  const tenant = `it-${randomUUID().slice(0, 8)}`;
  const sent: LabelCurated[] = [];
  let pool: Pool;
  let sut: LabelingService;

  before(async () => {
    await migrate(DATABASE_URL!);
    pool = createPgPool(DATABASE_URL!);
    const publisher = { publish: async (_topic: string, r: { value: LabelCurated }) => void sent.push(r.value) };
    sut = new LabelingService(
      new JudgedResultsRepository(pool),
      new LabelsRepository(pool),
      publisher as unknown as EventPublisher,
      new LabelerMetrics({ registry: new Registry() } as unknown as PlatformMetrics),
      createLogger('labeler-it', 'silent'),
    );
  });
  after(async () => {
    for (const t of ['labels', 'pending_feedback', 'judged_results']) await pool.query(`DELETE FROM ${t} WHERE tenant_id = $1`, [tenant]);
    await pool.end();
  });

  const judged = (jobId: string, verdict: InferenceJudged['verdict'], occurredAt = Date.now()): InferenceJudged =>
    judgedRecord(verdict, {
      event_id: randomUUID(),
      tenant_id: tenant,
      occurred_at: occurredAt,
      correlation_id: jobId,
      job_id: jobId,
      groundedness: 0.7,
      final_text: "it's an answer; DROP TABLE labels;--",
      retrieved_document_ids: [],
      prompt: 'q',
    });

  const feedback = (jobId: string, kind: FeedbackKind): FeedbackSubmitted => ({
    event_id: randomUUID(),
    tenant_id: tenant,
    occurred_at: Date.now(),
    schema_version: 1,
    correlation_id: jobId,
    job_id: jobId,
    kind,
    correction: kind === 'CORRECTION' ? 'better answer' : null,
    user_id: null,
    comment: null,
  });

  it('labels parked and direct feedback once each, and reports agreement', async () => {
    const [j1, j2] = [randomUUID(), randomUUID()];
    const early = feedback(j1, 'CORRECTION');
    assert.equal((await sut.recordFeedback(early)).status, 'skipped');
    await sut.recordJudged(judged(j1, 'PASS'));
    await sut.recordJudged(judged(j1, 'FALLBACK', 1)); // an older redelivered result does not replace the newer one
    const direct = feedback(j2, 'THUMBS_UP');
    await sut.recordJudged(judged(j2, 'PASS'));
    await sut.recordFeedback(direct);
    await sut.recordFeedback(direct);
    assert.equal(sent.length, 2);
    const rows = await pool.query(
      'SELECT feedback_event_id, label, source, judge_verdict, agrees_with_judge, correction FROM labels WHERE tenant_id = $1 ORDER BY label',
      [tenant],
    );
    assert.deepEqual(rows.rows, [
      { feedback_event_id: early.event_id, label: 'BAD', source: 'EXPLICIT', judge_verdict: 'PASS', agrees_with_judge: false, correction: 'better answer' },
      { feedback_event_id: direct.event_id, label: 'GOOD', source: 'EXPLICIT', judge_verdict: 'PASS', agrees_with_judge: true, correction: null },
    ]);
    assert.equal((await pool.query('SELECT 1 FROM pending_feedback WHERE tenant_id = $1', [tenant])).rowCount, 0);
    const a = await sut.agreement(tenant);
    assert.deepEqual(a, { tenant_id: tenant, compared: 2, agreed: 1, rate: 0.5, kappa: 0 });
  });
});
