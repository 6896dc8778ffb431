import { Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type JobStatusChanged } from '@llmgov/contracts';
import { BudgetSettlementService } from '../services/budget-settlement.service.js';

/**
 * Job status changes, in their own consumer group (`cost-attributor.budgets`) so billing is never held up behind
 * them: a job that reaches a terminal state releases the budget reservations it still holds.
 */
@KafkaHandlers()
export class JobStatusHandler {
  constructor(private readonly settlement: BudgetSettlementService) {}

  @KafkaEventPattern(Topics.jobStatus, { group: 'budgets' })
  onJobStatus(@Payload() ev: JobStatusChanged): Promise<HandlerOutcome> {
    return this.settlement.releaseOnTerminal(ev);
  }
}
