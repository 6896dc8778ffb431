import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type InferenceCompleted } from '@llmgov/contracts';
import { JudgeService } from '../services/judge.service.js';

/** Kafka entry point of the judge: every completion, from a worker or from the router's cache. */
@Injectable()
export class CompletionsHandler {
  constructor(private readonly judge: JudgeService) {}

  @KafkaHandler(Topics.inferenceCompleted)
  onCompletion(completion: InferenceCompleted): Promise<HandlerOutcome> {
    return this.judge.judge(completion);
  }
}
