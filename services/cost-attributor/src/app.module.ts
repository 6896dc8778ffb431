import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@llmgov/observability';
import { KafkaRuntimeModule } from '@llmgov/kafka-runtime';
import { PersistenceModule } from '@llmgov/persistence';
import { COST_CONFIG, PRICE_CATALOG, loadCostConfig, type CostConfig } from './config.js';
import { UsageHandler } from './handlers/usage.handler.js';
import { JobStatusHandler } from './handlers/job-status.handler.js';
import { CostAttributionService } from './services/cost-attribution.service.js';
import { BudgetSettlementService } from './services/budget-settlement.service.js';
import { BudgetReconciler } from './services/budget-reconciler.service.js';
import { PolicyBudgetsFollower } from './services/policy-budgets-follower.service.js';
import { CostMetrics } from './services/cost-metrics.js';
import { loadPriceCatalog } from './services/price-catalog.js';
import { CostLedgerRepository } from './repositories/cost-ledger.repository.js';
import { BudgetStateRepository } from './repositories/budget-state.repository.js';

export const SERVICE_NAME = 'cost-attributor';

@Module({
  imports: [
    ObservabilityModule.forRoot(SERVICE_NAME),
    KafkaRuntimeModule.forRoot({ serviceName: SERVICE_NAME }),
    PersistenceModule.forRoot({ postgres: true, redis: true }),
  ],
  controllers: [UsageHandler, JobStatusHandler],
  providers: [
    { provide: COST_CONFIG, useFactory: loadCostConfig },
    { provide: PRICE_CATALOG, inject: [COST_CONFIG], useFactory: (c: CostConfig) => loadPriceCatalog(c.CATALOG_PATH) },
    CostAttributionService,
    BudgetSettlementService,
    BudgetReconciler,
    PolicyBudgetsFollower,
    CostMetrics,
    CostLedgerRepository,
    BudgetStateRepository,
  ],
})
export class AppModule {}
