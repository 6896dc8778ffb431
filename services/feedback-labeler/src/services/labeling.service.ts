import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, Outcome, newEnvelope, type HandlerOutcome, deterministicEventId } from '@llmgov/kafka-runtime';
import { ValidationError } from '@llmgov/errors';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, type FeedbackSubmitted, type InferenceJudged, type LabelCurated } from '@llmgov/contracts';
import { JudgedResultsRepository, type JudgedResultRow } from '../repositories/judged-results.repository.js';
import { LabelsRepository, type PendingFeedback } from '../repositories/labels.repository.js';
import { agreementStats, agreesWithJudge, labelFor, type AgreementStats } from './label-rules.js';
import { LabelerMetrics } from './labeler-metrics.js';

/** Name of the deterministic LabelCurated event id of a feedback event. */
export const labelEventName = (feedbackEventId: string) => `${feedbackEventId}:label`;

/**
 * Joins feedback with judged results and turns it into labels.
 *
 * Exactly one label per feedback event, and no lost LabelCurated, with publish-before-insert:
 * 1. if `labels` already has the feedback event, stop (it was labelled and, by the order below, published);
 * 2. publish LabelCurated with `event_id` = UUID v5 of `${feedback_event_id}:label`;
 * 3. insert into `labels` ON CONFLICT (feedback_event_id) DO NOTHING.
 * A crash between 2 and 3 redelivers the feedback, which publishes again with the same event_id: consumers of
 * `feedback.label.curated.v1` must deduplicate on event_id. The reverse order (insert, then publish) would
 * lose the label event on such a crash, because the redelivery would find the row and stop.
 *
 * Feedback and judged results arrive on different topics, so they can be handled concurrently. Each side writes
 * first and reads the other side afterwards (feedback: park, then re-read the judged result; judged result: upsert,
 * then read parked feedback), each write committed before the read, so at least one side sees the other and no
 * feedback stays parked. When both see each other, steps 1-3 keep it to one label.
 */
@Injectable()
export class LabelingService {
  constructor(
    private readonly judged: JudgedResultsRepository,
    private readonly labels: LabelsRepository,
    private readonly publisher: EventPublisher,
    private readonly metrics: LabelerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Stores a judged result (idempotent by job_id) and labels the feedback that was waiting for it. */
  async recordJudged(ev: InferenceJudged): Promise<HandlerOutcome> {
    await this.judged.upsert({
      job_id: ev.job_id,
      tenant_id: ev.tenant_id,
      verdict: ev.verdict,
      groundedness: ev.groundedness,
      final_text: ev.final_text,
      model: ev.model,
      tier: ev.tier,
      judgedAtMs: ev.occurred_at,
    });
    const pending = await this.labels.pendingFor(ev.job_id);
    if (pending.length === 0) return Outcome.success();
    const row = (await this.judged.find(ev.job_id)) ?? toRow(ev);
    for (const fb of pending) {
      if (fb.tenant_id !== row.tenant_id) {
        this.logger.warn({ job_id: ev.job_id, feedback_event_id: fb.feedback_event_id }, 'parked feedback names another tenant than its job; dropped');
      } else {
        await this.label(fb, row);
      }
      await this.labels.deletePending(fb.feedback_event_id);
    }
    return Outcome.success();
  }

  /**
   * Labels feedback at once when its judged result is known, otherwise parks it in `pending_feedback`.
   * @throws ValidationError when the feedback's tenant does not own the job (dead-lettered).
   */
  async recordFeedback(fb: FeedbackSubmitted): Promise<HandlerOutcome> {
    const pending: PendingFeedback = { feedback_event_id: fb.event_id, job_id: fb.job_id, tenant_id: fb.tenant_id, kind: fb.kind, correction: fb.correction };
    let row = await this.judged.find(fb.job_id);
    if (!row) {
      await this.labels.savePending(pending);
      row = await this.judged.find(fb.job_id);
      if (!row) {
        this.metrics.parked.inc();
        return Outcome.skipped('judged result not seen yet; feedback parked');
      }
    }
    if (row.tenant_id !== fb.tenant_id) {
      await this.labels.deletePending(fb.event_id);
      throw new ValidationError([`feedback tenant "${fb.tenant_id}" does not own job ${fb.job_id}`], 'tenant_mismatch');
    }
    const labelled = await this.label(pending, row);
    await this.labels.deletePending(fb.event_id);
    return labelled ? Outcome.success() : Outcome.skipped('feedback already labelled');
  }

  /** Judge-vs-human agreement over labels that have a judge verdict, for one tenant or (no argument) all tenants. */
  async agreement(tenantId?: string): Promise<AgreementStats & { tenant_id: string | null }> {
    return { tenant_id: tenantId ?? null, ...agreementStats(await this.labels.agreementTable(tenantId)) };
  }

  /** Steps 1-3 of the class comment. @returns false when the feedback was already labelled. */
  private async label(fb: PendingFeedback, judged: JudgedResultRow): Promise<boolean> {
    if (await this.labels.labelExists(fb.feedback_event_id)) return false;
    const { label, source } = labelFor(fb.kind);
    const agrees = agreesWithJudge(label, judged.verdict);
    const value: LabelCurated = {
      ...newEnvelope(fb.tenant_id, fb.job_id),
      event_id: deterministicEventId(labelEventName(fb.feedback_event_id)),
      job_id: fb.job_id,
      feedback_event_id: fb.feedback_event_id,
      feedback_kind: fb.kind,
      label,
      source,
      judge_verdict: judged.verdict,
      agrees_with_judge: agrees,
    };
    await this.publisher.publish(Topics.labelCurated, { value });
    const inserted = await this.labels.insertLabel({
      feedback_event_id: fb.feedback_event_id,
      job_id: fb.job_id,
      tenant_id: fb.tenant_id,
      label,
      source,
      judge_verdict: judged.verdict,
      agrees_with_judge: agrees,
      correction: fb.correction,
    });
    if (inserted) this.metrics.labels.inc({ label, source, agrees: String(agrees) });
    return true;
  }
}

function toRow(ev: InferenceJudged): JudgedResultRow {
  return {
    job_id: ev.job_id,
    tenant_id: ev.tenant_id,
    verdict: ev.verdict,
    groundedness: ev.groundedness,
    final_text: ev.final_text,
    model: ev.model,
    tier: ev.tier,
    judged_at: new Date(ev.occurred_at),
  };
}
