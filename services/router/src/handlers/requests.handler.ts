import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type InferenceRequestValidated } from '@llmgov/contracts';
import { RoutingService } from '../services/routing.service.js';

@KafkaHandlers()
export class RequestsHandler {
  constructor(private readonly routing: RoutingService) {}

  @KafkaEventPattern(Topics.inferenceValidated)
  onValidated(@Payload() req: InferenceRequestValidated, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.routing.route(req, ctx.headers);
  }
}
