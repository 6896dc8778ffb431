import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type InferenceRequestRouted } from '@llmgov/contracts';
import { InferenceService } from '../services/inference.service.js';

/**
 * One handler per tier topic, each in its own consumer group (`inference-worker.S`, `.M`, `.L`) so a saturated pool
 * pauses only its own tier; all delegate to the same service, which picks the tier's pool.
 */
@Injectable()
export class RoutedHandler {
  constructor(private readonly inference: InferenceService) {}

  @KafkaHandler(Topics.inferenceRoutedS, { group: 'S' })
  onTierS(req: InferenceRequestRouted, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }

  @KafkaHandler(Topics.inferenceRoutedM, { group: 'M' })
  onTierM(req: InferenceRequestRouted, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }

  @KafkaHandler(Topics.inferenceRoutedL, { group: 'L' })
  onTierL(req: InferenceRequestRouted, ctx: RecordContext): Promise<HandlerOutcome> {
    return this.inference.infer(req, ctx);
  }
}
