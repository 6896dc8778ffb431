import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type JobState, type JobStatusChanged } from '@llmgov/contracts';
import { DlqHeaders, type AvroSerde, type EventPublisher, type RecordContext } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';
import type { JobRow, JobsRepository } from '../repositories/jobs.repository.js';
import { JobDeadLettersService } from './job-dead-letters.service.js';

const JOB = '6f1c2a9e-3b7d-4c1e-9a52-0d8e4f7b2c11';

function setup(states: Record<string, JobState> = { [JOB]: 'in_progress' }) {
  const jobs = {
    findById: async (id: string) => (states[id] ? ({ job_id: id, tenant_id: 'tenant-a', state: states[id] } as JobRow) : undefined),
  };
  /** Decodes the spec's "Avro" values: JSON bytes; anything else is undecodable, as corrupt bytes are. */
  const serde = {
    decode: async (value: Buffer | null) => {
      if (!value) throw new Error('empty value');
      return JSON.parse(value.toString('utf8')) as unknown;
    },
  };
  const publisher = new RecordingPublisher();
  const sut = new JobDeadLettersService(
    jobs as unknown as JobsRepository,
    serde as unknown as AvroSerde,
    publisher as unknown as EventPublisher,
    createLogger('spec', 'silent'),
  );
  return { sut, publisher };
}

const ctx = (over: Partial<RecordContext> = {}): RecordContext => ({
  topic: 'inference.request.routed.s.v1.dlq',
  partition: 2,
  offset: '41',
  key: JOB,
  headers: {
    [DlqHeaders.service]: 'inference-worker',
    [DlqHeaders.sourceTopic]: 'inference.request.routed.s.v1',
    [DlqHeaders.errorCode]: 'engine_timeout',
    [DlqHeaders.errorMessage]: 'inference failed after 3 call(s)',
  },
  timestamp: 0,
  attempt: 1,
  ...over,
});

describe(JobDeadLettersService.name, () => {
  it('fails the job named by the DLQ key with the DLQ error code and a message naming the stage and the source topic', async () => {
    const { sut, publisher } = setup();
    assert.deepEqual(await sut.failJob(Buffer.from('not avro'), ctx()), { status: 'success' });
    const [ev] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.equal(ev!.job_id, JOB);
    assert.equal(ev!.state, 'failed');
    assert.equal(ev!.stage, 'inference-worker');
    assert.equal(ev!.tenant_id, 'tenant-a');
    assert.deepEqual(ev!.error, {
      code: 'engine_timeout',
      message: 'inference-worker dead-lettered the request from inference.request.routed.s.v1: inference failed after 3 call(s)',
    });
    assert.deepEqual(publisher.keysOn(Topics.jobStatus), [JOB]);
  });

  it('a redelivered dead letter fails the job with the same event id; another dead letter gets another', async () => {
    const { sut, publisher } = setup();
    await sut.failJob(null, ctx());
    await sut.failJob(null, ctx());
    await sut.failJob(null, ctx({ offset: '42' }));
    const ids = publisher.on<JobStatusChanged>(Topics.jobStatus).map((e) => e.event_id);
    assert.equal(ids[0], ids[1]);
    assert.notEqual(ids[0], ids[2]);
  });

  it('reads the job id from the value when the key is not a job id, lower-casing it', async () => {
    const { sut, publisher } = setup();
    const value = Buffer.from(JSON.stringify({ job_id: JOB.toUpperCase() }));
    assert.equal((await sut.failJob(value, ctx({ key: 'tenant-a/doc-1' }))).status, 'success');
    assert.equal(publisher.on<JobStatusChanged>(Topics.jobStatus)[0]!.job_id, JOB);
  });

  it('skips a dead letter that names no job: undecodable value, or no UUID job id', async () => {
    const { sut, publisher } = setup();
    assert.deepEqual(await sut.failJob(Buffer.from([0, 1, 2]), ctx({ key: null })), { status: 'skipped', reason: 'dead letter names no job id' });
    assert.equal((await sut.failJob(Buffer.from(JSON.stringify({ job_id: 'job-1' })), ctx({ key: 'job-1' }))).status, 'skipped');
    assert.equal(publisher.sent.length, 0);
  });

  it('skips an unknown job and a job already final', async () => {
    const { sut, publisher } = setup({ [JOB]: 'completed' });
    assert.deepEqual(await sut.failJob(null, ctx()), { status: 'skipped', reason: 'job already completed' });
    assert.deepEqual(await sut.failJob(null, ctx({ key: '00000000-0000-4000-8000-000000000000' })), { status: 'skipped', reason: 'unknown job' });
    assert.equal(publisher.sent.length, 0);
  });

  it('without provenance headers: code dead_lettered, stage pipeline, source from the DLQ topic name; long reasons are cut', async () => {
    const { sut, publisher } = setup();
    await sut.failJob(null, ctx({ headers: {} }));
    await sut.failJob(null, ctx({ offset: '9', headers: { [DlqHeaders.errorMessage]: 'x'.repeat(2_000) } }));
    const [bare, long] = publisher.on<JobStatusChanged>(Topics.jobStatus);
    assert.deepEqual(bare!.error, {
      code: 'dead_lettered',
      message: 'pipeline dead-lettered the request from inference.request.routed.s.v1: no reason recorded',
    });
    assert.equal(bare!.stage, 'pipeline');
    assert.ok(long!.error!.message.endsWith(`: ${'x'.repeat(500)}`));
    assert.ok(long!.error!.message.length < 600);
  });
});
