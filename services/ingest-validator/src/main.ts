import type { NestExpressApplication } from '@nestjs/platform-express';
import { runService } from '@llmgov/kafka-runtime';
import { AppModule, SERVICE_NAME } from './app.module.js';
import { loadIngestConfig } from './config.js';
import { ApiErrorFilter } from './http/error.filter.js';
import { answerClientErrorsAsJson } from './http/client-error.js';

await runService(SERVICE_NAME, AppModule, (app) => {
  (app as NestExpressApplication).useBodyParser('json', { limit: loadIngestConfig().MAX_BODY_BYTES });
  // Global, so body-parser failures (malformed JSON, too large) get the same error shape as the API's own errors.
  app.useGlobalFilters(new ApiErrorFilter());
  answerClientErrorsAsJson(app.getHttpServer());
});
