import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type JobStatusChanged } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type { Logger } from '@llmgov/observability';
import { loadIngestConfig } from '../config.js';
import type { JobsRepository } from '../repositories/jobs.repository.js';
import { JobExpiryService } from './job-expiry.service.js';

type Expired = Awaited<ReturnType<JobsRepository['expireOverdue']>>;
const expired = (jobId: string): Expired[number] => ({
  job_id: jobId,
  tenant_id: 'tenant-a',
  error: { code: 'deadline_exceeded', message: 'no final state 60 s after the latency budget ran out (last stage: inference)' },
});

/** expireOverdue answers from a queue of results the spec pushes (a result, an error, or a promise it settles later). */
function setup() {
  const config = loadIngestConfig({ PLATFORM_MODE: 'local', JOB_SWEEP_INTERVAL_MS: '1000', JOB_EXPIRY_GRACE_MS: '60000' });
  const answers: (Expired | Error | Promise<Expired>)[] = [];
  const calls: { graceMs: number; limit: number }[] = [];
  const jobs = {
    expireOverdue: async (graceMs: number, limit: number) => {
      calls.push({ graceMs, limit });
      const next = answers.shift() ?? [];
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, msg: string) => void warnings.push(msg), info: () => undefined, error: () => undefined, debug: () => undefined };
  const publisher = new RecordingPublisher();
  const sut = new JobExpiryService(config, jobs as unknown as JobsRepository, publisher as unknown as EventPublisher, logger as unknown as Logger);
  return { sut, answers, calls, publisher, warnings };
}

/** Lets pending promise callbacks run (setImmediate is not mocked here). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe(JobExpiryService.name, () => {
  afterEach(() => mock.timers.reset());

  it('sweep: expires overdue jobs with the configured grace and publishes each expiry keyed by job id', async () => {
    const { sut, answers, calls, publisher } = setup();
    answers.push([expired('11111111-1111-4111-8111-111111111111'), expired('22222222-2222-4222-8222-222222222222')]);
    assert.deepEqual(await sut.sweep(), ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']);
    assert.deepEqual(calls, [{ graceMs: 60_000, limit: 500 }]);
    const events = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.deepEqual(
      events.map((e) => [e.job_id, e.state, e.stage, e.error?.code]),
      [
        ['11111111-1111-4111-8111-111111111111', 'expired', 'sweeper', 'deadline_exceeded'],
        ['22222222-2222-4222-8222-222222222222', 'expired', 'sweeper', 'deadline_exceeded'],
      ],
    );
    assert.deepEqual(publisher.keysOn(Topics.jobStatus), ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']);
  });

  it('sweep: the expiry event id is deterministic, so an expiry published twice (two instances) counts once', async () => {
    const { sut, answers, publisher } = setup();
    answers.push(
      [expired('11111111-1111-4111-8111-111111111111')],
      [expired('11111111-1111-4111-8111-111111111111')],
      [expired('22222222-2222-4222-8222-222222222222')],
    );
    await sut.sweep();
    await sut.sweep();
    await sut.sweep();
    const [a, b, c] = publisher.on<JobStatusChanged>(Topics.jobStatus).map((e) => e.event_id);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('sweeps every JOB_SWEEP_INTERVAL_MS after bootstrap; a failed sweep is logged and the next one runs', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const { sut, answers, calls, publisher, warnings } = setup();
    answers.push(new Error('postgres down'), [expired('11111111-1111-4111-8111-111111111111')]);
    sut.onApplicationBootstrap();
    mock.timers.tick(999);
    await settle();
    assert.equal(calls.length, 0, 'not before the interval');
    mock.timers.tick(1);
    await settle();
    assert.equal(calls.length, 1);
    assert.ok(warnings.some((w) => /retrying at the next one/.test(w)));
    mock.timers.tick(1_000);
    await settle();
    assert.equal(calls.length, 2);
    assert.equal(publisher.on(Topics.jobStatus).length, 1);
    await sut.onApplicationShutdown();
    mock.timers.tick(10_000);
    await settle();
    assert.equal(calls.length, 2, 'no sweep after shutdown');
  });

  it('never runs two sweeps at once, and shutdown waits for the sweep in progress', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const { sut, answers, calls, publisher } = setup();
    let finish!: (v: Expired) => void;
    answers.push(new Promise<Expired>((resolve) => (finish = resolve)));
    sut.onApplicationBootstrap();
    mock.timers.tick(1_000);
    await settle();
    mock.timers.tick(3_000); // three more intervals while the first sweep still runs
    await settle();
    assert.equal(calls.length, 1);
    let stopped = false;
    const stopping = sut.onApplicationShutdown().then(() => (stopped = true));
    await settle();
    assert.equal(stopped, false, 'shutdown waits for the sweep');
    finish([expired('11111111-1111-4111-8111-111111111111')]);
    await stopping;
    assert.equal(publisher.on(Topics.jobStatus).length, 1, 'the sweep in progress published before shutdown returned');
  });
});
