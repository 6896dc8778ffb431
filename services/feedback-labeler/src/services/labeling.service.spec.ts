import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { type EventPublisher, deterministicEventId } from '@llmgov/kafka-runtime';
import { ValidationError } from '@llmgov/errors';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import { Topics, type FeedbackKind, type FeedbackSubmitted, type LabelCurated } from '@llmgov/contracts';
import type { JudgedResultRow, JudgedResultsRepository } from '../repositories/judged-results.repository.js';
import type { LabelRow, LabelsRepository, PendingFeedback } from '../repositories/labels.repository.js';
import type { AgreementTable } from './label-rules.js';
import { LabelerMetrics } from './labeler-metrics.js';
import { LabelingService } from './labeling.service.js';
import { judgedRecord } from '../test/records.js';

class FakePublisher {
  readonly sent: LabelCurated[] = [];
  failNext = false;
  async publish(topic: string, record: { value: unknown }): Promise<void> {
    assert.equal(topic, Topics.labelCurated);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('broker down');
    }
    this.sent.push(record.value as LabelCurated);
  }
}

/** In-memory judged_results with the repository's semantics. */
class FakeJudged {
  readonly rows = new Map<string, JudgedResultRow>();
  /** Called between the feedback path's two reads, to simulate a judged result committed concurrently. */
  onFind: ((call: number) => void) | undefined;
  private finds = 0;
  async upsert(row: Omit<JudgedResultRow, 'judged_at'> & { judgedAtMs: number }): Promise<void> {
    const { judgedAtMs, ...rest } = row;
    const existing = this.rows.get(row.job_id);
    if (existing && existing.judged_at.getTime() > judgedAtMs) return;
    this.rows.set(row.job_id, { ...rest, judged_at: new Date(judgedAtMs) });
  }
  async find(jobId: string): Promise<JudgedResultRow | undefined> {
    this.onFind?.(++this.finds);
    return this.rows.get(jobId);
  }
}

/** In-memory pending_feedback + labels with the repository's semantics. */
class FakeLabels {
  readonly pending = new Map<string, PendingFeedback>();
  readonly labels = new Map<string, LabelRow>();
  async savePending(fb: PendingFeedback): Promise<void> {
    if (!this.pending.has(fb.feedback_event_id)) this.pending.set(fb.feedback_event_id, fb);
  }
  async pendingFor(jobId: string): Promise<PendingFeedback[]> {
    return [...this.pending.values()].filter((p) => p.job_id === jobId);
  }
  async deletePending(id: string): Promise<void> {
    this.pending.delete(id);
  }
  async labelExists(id: string): Promise<boolean> {
    return this.labels.has(id);
  }
  async insertLabel(row: LabelRow): Promise<boolean> {
    if (this.labels.has(row.feedback_event_id)) return false;
    this.labels.set(row.feedback_event_id, row);
    return true;
  }
  async agreementTable(tenantId?: string): Promise<AgreementTable> {
    const t: AgreementTable = { goodPass: 0, goodNotPass: 0, badPass: 0, badNotPass: 0 };
    for (const l of this.labels.values()) {
      if (l.judge_verdict === null || (tenantId !== undefined && l.tenant_id !== tenantId)) continue;
      const pass = l.judge_verdict === 'PASS';
      if (l.label === 'GOOD') t[pass ? 'goodPass' : 'goodNotPass']++;
      else t[pass ? 'badPass' : 'badNotPass']++;
    }
    return t;
  }
}

let seq = 0;
function feedback(kind: FeedbackKind, overrides: Partial<FeedbackSubmitted> = {}): FeedbackSubmitted {
  seq++;
  return {
    event_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    tenant_id: 'tenant-a',
    occurred_at: 1_760_000_000_000 + seq,
    schema_version: 1,
    correlation_id: 'job-1',
    job_id: 'job-1',
    kind,
    correction: kind === 'CORRECTION' ? 'The right answer is 1066.' : null,
    user_id: null,
    comment: null,
    ...overrides,
  };
}

const judged = judgedRecord;

describe(LabelingService.name, () => {
  let publisher: FakePublisher;
  let judgedRepo: FakeJudged;
  let labels: FakeLabels;
  let sut: LabelingService;

  beforeEach(() => {
    publisher = new FakePublisher();
    judgedRepo = new FakeJudged();
    labels = new FakeLabels();
    sut = new LabelingService(
      judgedRepo as unknown as JudgedResultsRepository,
      labels as unknown as LabelsRepository,
      publisher as unknown as EventPublisher,
      new LabelerMetrics({ registry: new Registry() } as unknown as PlatformMetrics),
      createLogger('labeler-test', 'silent'),
    );
  });

  it('labels feedback at once when the judged result is known', async () => {
    await sut.recordJudged(judged('PASS'));
    const fb = feedback('THUMBS_UP');
    assert.deepEqual(await sut.recordFeedback(fb), { status: 'success' });
    assert.equal(publisher.sent.length, 1);
    const ev = publisher.sent[0]!;
    assert.equal(ev.event_id, deterministicEventId(`${fb.event_id}:label`));
    assert.deepEqual(
      { label: ev.label, source: ev.source, verdict: ev.judge_verdict, agrees: ev.agrees_with_judge, kind: ev.feedback_kind, fb: ev.feedback_event_id },
      { label: 'GOOD', source: 'EXPLICIT', verdict: 'PASS', agrees: true, kind: 'THUMBS_UP', fb: fb.event_id },
    );
    assert.equal(labels.labels.get(fb.event_id)?.agrees_with_judge, true);
  });

  it('gives one label and one publish for a redelivered feedback', async () => {
    await sut.recordJudged(judged('FALLBACK'));
    const fb = feedback('REGENERATE');
    await sut.recordFeedback(fb);
    assert.equal((await sut.recordFeedback(fb)).status, 'skipped');
    assert.equal(publisher.sent.length, 1);
    assert.equal(labels.labels.size, 1);
    assert.deepEqual(
      { ...labels.labels.get(fb.event_id) },
      {
        feedback_event_id: fb.event_id,
        job_id: 'job-1',
        tenant_id: 'tenant-a',
        label: 'BAD',
        source: 'IMPLICIT',
        judge_verdict: 'FALLBACK',
        agrees_with_judge: true,
        correction: null,
      },
    );
  });

  it('parks feedback that arrives first and labels it when the judged result arrives', async () => {
    const fb = feedback('CORRECTION');
    assert.equal((await sut.recordFeedback(fb)).status, 'skipped');
    assert.equal(labels.pending.size, 1);
    assert.equal(publisher.sent.length, 0);
    await sut.recordJudged(judged('PASS'));
    assert.equal(labels.pending.size, 0);
    assert.equal(publisher.sent.length, 1);
    assert.equal(publisher.sent[0]!.agrees_with_judge, false);
    assert.equal(labels.labels.get(fb.event_id)?.correction, 'The right answer is 1066.');
  });

  it('does not strand feedback when the judged result is committed between park and re-read', async () => {
    judgedRepo.onFind = (call) => {
      if (call === 1) void judgedRepo.upsert({ ...judged('PASS'), judgedAtMs: 1 });
    };
    const fb = feedback('COPY');
    assert.deepEqual(await sut.recordFeedback(fb), { status: 'success' });
    assert.equal(labels.pending.size, 0);
    assert.equal(labels.labels.get(fb.event_id)?.label, 'GOOD');
  });

  it('republishes with the same event id after a crash between publish and insert', async () => {
    await sut.recordJudged(judged('PASS'));
    const fb = feedback('THUMBS_DOWN');
    const realInsert = labels.insertLabel.bind(labels);
    labels.insertLabel = async () => {
      throw new Error('postgres down');
    };
    await assert.rejects(sut.recordFeedback(fb));
    labels.insertLabel = realInsert;
    await sut.recordFeedback(fb);
    assert.equal(publisher.sent.length, 2);
    assert.equal(publisher.sent[0]!.event_id, publisher.sent[1]!.event_id);
    assert.equal(labels.labels.size, 1);
  });

  it('stores nothing when the publish fails, so the redelivery labels it', async () => {
    await sut.recordJudged(judged('PASS'));
    const fb = feedback('THUMBS_UP');
    publisher.failNext = true;
    await assert.rejects(sut.recordFeedback(fb), /broker down/);
    assert.equal(labels.labels.size, 0);
    await sut.recordFeedback(fb);
    assert.equal(labels.labels.size, 1);
    assert.equal(publisher.sent.length, 1);
  });

  it('dead-letters feedback whose tenant does not own the job', async () => {
    await sut.recordJudged(judged('PASS'));
    await assert.rejects(sut.recordFeedback(feedback('THUMBS_UP', { tenant_id: 'tenant-b' })), ValidationError);
    assert.equal(publisher.sent.length, 0);
    assert.equal(labels.pending.size, 0);
  });

  it('drops parked feedback of another tenant when the judged result arrives', async () => {
    await sut.recordFeedback(feedback('THUMBS_UP', { tenant_id: 'tenant-b' }));
    await sut.recordJudged(judged('PASS'));
    assert.equal(publisher.sent.length, 0);
    assert.equal(labels.pending.size, 0);
  });

  it('keeps the newer judged result when an older one is redelivered', async () => {
    await sut.recordJudged(judged('FALLBACK', { occurred_at: 2_000 }));
    await sut.recordJudged(judged('PASS', { occurred_at: 1_000 }));
    assert.equal(judgedRepo.rows.get('job-1')?.verdict, 'FALLBACK');
  });

  describe('agreement', () => {
    it('is null before any label', async () => {
      assert.deepEqual(await sut.agreement(), { tenant_id: null, compared: 0, agreed: 0, rate: null, kappa: null });
    });

    it('reports judge-vs-human agreement per tenant and overall', async () => {
      await sut.recordJudged(judged('PASS', { job_id: 'j1' }));
      await sut.recordJudged(judged('FALLBACK', { job_id: 'j2' }));
      await sut.recordJudged(judged('PASS', { job_id: 'j3', tenant_id: 'tenant-b' }));
      await sut.recordFeedback(feedback('THUMBS_UP', { job_id: 'j1' })); // agrees
      await sut.recordFeedback(feedback('COPY', { job_id: 'j2' })); // disagrees
      await sut.recordFeedback(feedback('ABANDON', { job_id: 'j2' })); // agrees
      await sut.recordFeedback(feedback('THUMBS_DOWN', { job_id: 'j3', tenant_id: 'tenant-b' })); // disagrees
      const a = await sut.agreement('tenant-a');
      assert.equal(a.tenant_id, 'tenant-a');
      assert.equal(a.compared, 3);
      assert.equal(a.agreed, 2);
      assert.equal(a.rate, 0.6667);
      const all = await sut.agreement();
      assert.equal(all.compared, 4);
      assert.equal(all.rate, 0.5);
    });
  });
});
