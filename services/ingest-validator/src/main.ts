import type { NestExpressApplication } from '@nestjs/platform-express';
import { runService } from '@llmgov/kafka-runtime';
import { AppModule, SERVICE_NAME } from './app.module.js';
import { loadIngestConfig } from './config.js';

await runService(SERVICE_NAME, AppModule, (app) => {
  (app as NestExpressApplication).useBodyParser('json', { limit: loadIngestConfig().MAX_BODY_BYTES });
});
