import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, Outcome, type HandlerOutcome } from '@llmgov/kafka-runtime';
import {
  Topics,
  isShadowJobId,
  type CostRecorded,
  type FeedbackSubmitted,
  type InferenceCompleted,
  type InferenceJudged,
  type JobStatusChanged,
} from '@llmgov/contracts';
import { LabelingService } from '../services/labeling.service.js';
import { CanaryController } from '../canary/canary-controller.service.js';

/**
 * Kafka entry points of feedback-labeler: judged results (the join side, and the canary controller's quality),
 * user feedback, and for the canary controller completions (latency), cost records (cost per request) and job
 * statuses (the router's template answers).
 */
@KafkaHandlers()
export class LabelerHandlers {
  constructor(
    private readonly labeling: LabelingService,
    private readonly canary: CanaryController,
  ) {}

  @KafkaEventPattern(Topics.inferenceJudged)
  async onJudged(@Payload() ev: InferenceJudged): Promise<HandlerOutcome> {
    await this.canary.recordShadowJudged(ev);
    // A shadow copy's verdict is kept apart (ADR 0009): paired with the stable answer above, never a label or a canary sample.
    if (ev.shadow) return Outcome.skipped('shadow verdict: recorded for the shadow report only');
    this.canary.observeJudged(ev);
    return this.labeling.recordJudged(ev);
  }

  @KafkaEventPattern(Topics.inferenceCompleted)
  async onCompleted(@Payload() ev: InferenceCompleted): Promise<HandlerOutcome> {
    await this.canary.recordShadowCompleted(ev);
    if (!ev.shadow) this.canary.observeCompleted(ev);
    return Outcome.success();
  }

  @KafkaEventPattern(Topics.jobStatus)
  onStatus(@Payload() ev: JobStatusChanged): Promise<HandlerOutcome> {
    this.canary.observeStatus(ev);
    return Promise.resolve(Outcome.success());
  }

  @KafkaEventPattern(Topics.costRecorded)
  async onCost(@Payload() ev: CostRecorded): Promise<HandlerOutcome> {
    await this.canary.recordShadowCost(ev);
    if (ev.job_id === null || !isShadowJobId(ev.job_id)) this.canary.observeCost(ev);
    return Outcome.success();
  }

  @KafkaEventPattern(Topics.feedbackSubmitted)
  onFeedback(@Payload() fb: FeedbackSubmitted): Promise<HandlerOutcome> {
    return this.labeling.recordFeedback(fb);
  }
}
