import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type FeedbackSubmitted, type InferenceJudged } from '@llmgov/contracts';
import { LabelingService } from '../services/labeling.service.js';

/** Kafka entry points of feedback-labeler: judged results (the join side) and user feedback. */
@KafkaHandlers()
export class LabelerHandlers {
  constructor(private readonly labeling: LabelingService) {}

  @KafkaEventPattern(Topics.inferenceJudged)
  onJudged(@Payload() ev: InferenceJudged): Promise<HandlerOutcome> {
    return this.labeling.recordJudged(ev);
  }

  @KafkaEventPattern(Topics.feedbackSubmitted)
  onFeedback(@Payload() fb: FeedbackSubmitted): Promise<HandlerOutcome> {
    return this.labeling.recordFeedback(fb);
  }
}
