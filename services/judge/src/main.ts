import { runService } from '@llmgov/kafka-runtime';
import { AppModule, SERVICE_NAME } from './app.module.js';

await runService(SERVICE_NAME, AppModule);
