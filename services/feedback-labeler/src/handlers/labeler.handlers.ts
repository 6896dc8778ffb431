import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type FeedbackSubmitted, type InferenceJudged } from '@llmgov/contracts';
import { LabelingService } from '../services/labeling.service.js';

/** Kafka entry points of feedback-labeler: judged results (the join side) and user feedback. */
@Injectable()
export class LabelerHandlers {
  constructor(private readonly labeling: LabelingService) {}

  @KafkaHandler(Topics.inferenceJudged)
  onJudged(ev: InferenceJudged): Promise<HandlerOutcome> {
    return this.labeling.recordJudged(ev);
  }

  @KafkaHandler(Topics.feedbackSubmitted)
  onFeedback(fb: FeedbackSubmitted): Promise<HandlerOutcome> {
    return this.labeling.recordFeedback(fb);
  }
}
