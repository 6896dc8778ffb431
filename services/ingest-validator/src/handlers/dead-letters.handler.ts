import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, dlqTopic } from '@llmgov/contracts';
import { JobDeadLettersService } from '../services/job-dead-letters.service.js';

/** The DLQs of the job-keyed request topics, read raw (their bytes may be why they failed) in their own consumer group. */
const opts = { group: 'dead-letters', raw: true } as const;

@KafkaHandlers()
export class DeadLettersHandler {
  constructor(private readonly deadLetters: JobDeadLettersService) {}

  @KafkaEventPattern(dlqTopic(Topics.inferenceSubmitted), opts)
  onSubmitted(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaEventPattern(dlqTopic(Topics.inferenceValidated), opts)
  onValidated(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaEventPattern(dlqTopic(Topics.inferenceRoutedS), opts)
  onRoutedS(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaEventPattern(dlqTopic(Topics.inferenceRoutedM), opts)
  onRoutedM(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaEventPattern(dlqTopic(Topics.inferenceRoutedL), opts)
  onRoutedL(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }

  @KafkaEventPattern(dlqTopic(Topics.inferenceCompleted), opts)
  onCompleted(@Payload() value: Buffer | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.deadLetters.failJob(value, ctx);
  }
}
