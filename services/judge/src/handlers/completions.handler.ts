import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type InferenceCompleted } from '@llmgov/contracts';
import { JudgeService } from '../services/judge.service.js';

/** Kafka entry point of the judge: every completion, from a worker or from the router's cache. */
@KafkaHandlers()
export class CompletionsHandler {
  constructor(private readonly judge: JudgeService) {}

  @KafkaEventPattern(Topics.inferenceCompleted)
  onCompletion(@Payload() completion: InferenceCompleted): Promise<HandlerOutcome> {
    return this.judge.judge(completion);
  }
}
