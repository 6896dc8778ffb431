import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, labelVerdictTable, type Pool } from '@llmgov/persistence';
import type { FeedbackKind, Label, LabelSource } from '@llmgov/contracts';
import type { AgreementTable } from '../services/label-rules.js';

/** Feedback waiting for its judged result (`pending_feedback`). */
export interface PendingFeedback {
  feedback_event_id: string;
  job_id: string;
  tenant_id: string;
  kind: FeedbackKind;
  correction: string | null;
}

/** A row of `labels`. */
export interface LabelRow {
  feedback_event_id: string;
  job_id: string;
  tenant_id: string;
  label: Label;
  source: LabelSource;
  judge_verdict: string | null;
  agrees_with_judge: boolean | null;
  correction: string | null;
}

/** The `pending_feedback` and `labels` tables (Postgres). Every query is parameterised. */
@Injectable()
export class LabelsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Parks feedback until its judged result arrives (idempotent by feedback event id). */
  async savePending(fb: PendingFeedback): Promise<void> {
    await this.run(
      `INSERT INTO pending_feedback (feedback_event_id, job_id, tenant_id, kind, correction) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (feedback_event_id) DO NOTHING`,
      [fb.feedback_event_id, fb.job_id, fb.tenant_id, fb.kind, fb.correction],
    );
  }

  /** Feedback parked for `jobId`, oldest first. */
  async pendingFor(jobId: string): Promise<PendingFeedback[]> {
    const r = await this.run<PendingFeedback>(
      'SELECT feedback_event_id, job_id, tenant_id, kind, correction FROM pending_feedback WHERE job_id = $1 ORDER BY received_at, feedback_event_id',
      [jobId],
    );
    return r.rows;
  }

  async deletePending(feedbackEventId: string): Promise<void> {
    await this.run('DELETE FROM pending_feedback WHERE feedback_event_id = $1', [feedbackEventId]);
  }

  /** True when a label was already stored for this feedback event. */
  async labelExists(feedbackEventId: string): Promise<boolean> {
    const r = await this.run('SELECT 1 FROM labels WHERE feedback_event_id = $1', [feedbackEventId]);
    return r.rows.length > 0;
  }

  /** Stores a label once per feedback event. @returns true when this call inserted it. */
  async insertLabel(row: LabelRow): Promise<boolean> {
    const r = await this.run(
      `INSERT INTO labels (feedback_event_id, job_id, tenant_id, label, source, judge_verdict, agrees_with_judge, correction)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (feedback_event_id) DO NOTHING`,
      [row.feedback_event_id, row.job_id, row.tenant_id, row.label, row.source, row.judge_verdict, row.agrees_with_judge, row.correction],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Labels that have a judge verdict, counted by human label and by whether the verdict was PASS; all tenants when `tenantId` is undefined (libs/persistence `labelVerdictTable`). */
  agreementTable(tenantId?: string): Promise<AgreementTable> {
    return labelVerdictTable(this.pool, tenantId);
  }

  private async run<R extends object = Record<string, unknown>>(sql: string, params: unknown[]) {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
