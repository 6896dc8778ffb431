import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type UsageRecorded } from '@llmgov/contracts';
import { CostAttributionService } from '../services/cost-attribution.service.js';

/** Kafka entry point of cost-attributor: every metered model call (completion, embedding, judge). */
@KafkaHandlers()
export class UsageHandler {
  constructor(private readonly costs: CostAttributionService) {}

  @KafkaEventPattern(Topics.usageRecorded)
  onUsage(@Payload() usage: UsageRecorded): Promise<HandlerOutcome> {
    return this.costs.attribute(usage);
  }
}
