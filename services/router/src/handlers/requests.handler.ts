import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type InferenceRequestValidated } from '@llmgov/contracts';
import { RoutingService } from '../services/routing.service.js';

@Injectable()
export class RequestsHandler {
  constructor(private readonly routing: RoutingService) {}

  @KafkaHandler(Topics.inferenceValidated)
  onValidated(req: InferenceRequestValidated): Promise<HandlerOutcome> {
    return this.routing.route(req);
  }
}
