import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { loadPlatformConfig } from '@llmgov/config';
import { createLogger } from '@llmgov/observability';
import { KafkaHandlerHost } from './kafka-runtime.module.js';
import { KafkaRuntimeTransport } from './kafka-transport.js';

/**
 * Starts a service: validates the environment before Nest starts (every bad variable reported at once),
 * creates the Nest app, connects the Kafka runtime as its microservice transport, enables shutdown hooks
 * (SIGTERM/SIGINT drain), initialises the modules, starts the consumers, listens on HTTP_HOST:HTTP_PORT
 * and logs the bound address. Exits with code 1 on a start-up failure.
 */
export async function runService(name: string, appModule: unknown, configure?: (app: INestApplication) => void | Promise<void>): Promise<void> {
  const logger = createLogger(name);
  try {
    const config = loadPlatformConfig();
    const app = await NestFactory.create(appModule as never, { logger: ['error', 'warn'], bodyParser: false });
    // Only SIGTERM/SIGINT shut down; Nest's default list includes SIGHUP, which services use for reloads.
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
    // The Kafka handlers run as a Nest microservice on the runtime's own transport (ADR 0005).
    app.connectMicroservice({ strategy: new KafkaRuntimeTransport(app.get(KafkaHandlerHost)) });
    await configure?.(app);
    await app.init();
    await app.startAllMicroservices();
    await app.listen(config.HTTP_PORT, config.HTTP_HOST);
    const address = app.getHttpServer().address() as { port: number } | null;
    logger.info({ http_port: address?.port }, 'service started');
  } catch (err) {
    logger.fatal({ err }, 'service failed to start');
    process.exit(1);
  }
}
