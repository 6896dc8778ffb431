import { Controller, Get, Header, HttpCode, Module, Res, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { PlatformMetrics } from './metrics.js';
import { ReadinessRegistry } from './health.js';

/** Injection token for the service's pino logger. */
export const LOGGER = Symbol('LOGGER');

interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

/** `/health/live`, `/health/ready` and `/metrics` for every service. */
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly metrics: PlatformMetrics,
  ) {}

  /** Liveness: the process answers. */
  @Get('health/live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 200 when every registered dependency answers, 503 with the failing checks otherwise. */
  @Get('health/ready')
  async ready(@Res() res: HttpResponse): Promise<void> {
    const report = await this.readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.render();
  }
}

/** Provides LOGGER, PlatformMetrics and ReadinessRegistry globally, and the health/metrics controller. */
@Module({})
export class ObservabilityModule {
  static forRoot(service: string): DynamicModule {
    const logger: Logger = createLogger(service);
    return {
      module: ObservabilityModule,
      global: true,
      controllers: [HealthController],
      providers: [{ provide: LOGGER, useValue: logger }, { provide: PlatformMetrics, useValue: new PlatformMetrics(service) }, ReadinessRegistry],
      exports: [LOGGER, PlatformMetrics, ReadinessRegistry],
    };
  }
}
