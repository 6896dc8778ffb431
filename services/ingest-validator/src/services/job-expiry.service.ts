import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EventPublisher, deterministicEventId, newEnvelope } from '@llmgov/kafka-runtime';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, type JobStatusChanged } from '@llmgov/contracts';
import { INGEST_CONFIG, type IngestConfig } from '../config.js';
import { JobsRepository } from '../repositories/jobs.repository.js';

/** Most jobs expired per sweep (one UPDATE); the rest wait for the next sweep. */
const SWEEP_BATCH = 500;

/**
 * The expiry sweeper: every `JOB_SWEEP_INTERVAL_MS` it moves each job still non-final `JOB_EXPIRY_GRACE_MS` after its
 * deadline (`created_at` + its `budget.latency_ms`) to `expired`, with error code `deadline_exceeded`, and publishes
 * the change on `jobs.job.status.v1`. Whatever went wrong upstream, no job stays non-final forever. Instances may
 * sweep at once: rows are claimed with `FOR UPDATE SKIP LOCKED`. A sweep that fails (Postgres down) is logged and
 * the next one tries again.
 */
@Injectable()
export class JobExpiryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    private readonly jobs: JobsRepository,
    private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.JOB_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running ??= this.sweep()
      .then(() => undefined)
      .catch((err: unknown) => this.logger.warn({ error: (err as Error).message }, 'expiry sweep failed; retrying at the next one'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Expires overdue jobs (at most SWEEP_BATCH) and publishes their status. @returns the ids expired. */
  async sweep(): Promise<string[]> {
    const expired = await this.jobs.expireOverdue(this.config.JOB_EXPIRY_GRACE_MS, SWEEP_BATCH);
    for (const job of expired) {
      const event: JobStatusChanged = {
        ...newEnvelope(job.tenant_id, job.job_id),
        event_id: deterministicEventId(job.job_id, 'expired'),
        job_id: job.job_id,
        state: 'expired',
        stage: 'sweeper',
        result: null,
        error: job.error,
      };
      await this.publisher.publish(Topics.jobStatus, { value: event });
    }
    if (expired.length > 0) this.logger.warn({ expired: expired.length }, 'expired jobs past their deadline and grace');
    return expired.map((j) => j.job_id);
  }
}
