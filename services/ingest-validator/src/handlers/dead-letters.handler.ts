import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, dlqTopic } from '@llmgov/contracts';
import { JobDeadLettersService } from '../services/job-dead-letters.service.js';

/** The DLQs of the job-keyed request topics, read raw (their bytes may be why they failed) in their own consumer group. */
const opts = { group: 'dead-letters', raw: true } as const;

@Injectable()
export class DeadLettersHandler {
  constructor(private readonly deadLetters: JobDeadLettersService) {}

  @KafkaHandler(dlqTopic(Topics.inferenceSubmitted), opts)
  onSubmitted(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaHandler(dlqTopic(Topics.inferenceValidated), opts)
  onValidated(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaHandler(dlqTopic(Topics.inferenceRoutedS), opts)
  onRoutedS(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaHandler(dlqTopic(Topics.inferenceRoutedM), opts)
  onRoutedM(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaHandler(dlqTopic(Topics.inferenceRoutedL), opts)
  onRoutedL(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaHandler(dlqTopic(Topics.inferenceCompleted), opts)
  onCompleted(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }
}
