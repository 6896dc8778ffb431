import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type InferenceRequestRouted } from '@llmgov/contracts';
import { InferenceService } from '../services/inference.service.js';

/**
 * One handler per tier topic, each in its own consumer group (`inference-worker.S`, `.M`, `.L`) so a saturated pool
 * pauses only its own tier; all delegate to the same service, which picks the tier's pool.
 */
@KafkaHandlers()
export class RoutedHandler {
  constructor(private readonly inference: InferenceService) {}

  @KafkaEventPattern(Topics.inferenceRoutedS, { group: 'S' })
  onTierS(@Payload() req: InferenceRequestRouted, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }

  @KafkaEventPattern(Topics.inferenceRoutedM, { group: 'M' })
  onTierM(@Payload() req: InferenceRequestRouted, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }

  @KafkaEventPattern(Topics.inferenceRoutedL, { group: 'L' })
  onTierL(@Payload() req: InferenceRequestRouted, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }
}
