import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type UsageRecorded } from '@llmgov/contracts';
import { CostAttributionService } from '../services/cost-attribution.service.js';

/** Kafka entry point of cost-attributor: every metered model call (completion, embedding, judge). */
@Injectable()
export class UsageHandler {
  constructor(private readonly costs: CostAttributionService) {}

  @KafkaHandler(Topics.usageRecorded)
  onUsage(usage: UsageRecorded): Promise<HandlerOutcome> {
    return this.costs.attribute(usage);
  }
}
