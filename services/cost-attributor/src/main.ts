import { runService } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import { AppModule, SERVICE_NAME } from './app.module.js';
import { loadCostConfig } from './config.js';
import { loadPriceCatalog } from './services/price-catalog.js';

// Validate the service's variables and the price catalog before Nest starts: a bad catalog stops the service with
// every problem listed, instead of mispricing events. (The module loads both again; they are small.)
try {
  loadPriceCatalog(loadCostConfig().CATALOG_PATH);
} catch (err) {
  createLogger(SERVICE_NAME).fatal({ err }, 'invalid cost-attributor configuration');
  process.exit(1);
}
await runService(SERVICE_NAME, AppModule);
