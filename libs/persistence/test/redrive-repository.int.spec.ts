import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedriveRepository, createPgPool, migrate, type DlqRedriveClaim, type Pool } from '@llmgov/persistence';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://llmgov:llmgov@127.0.0.1:15432/llmgov';

describe('RedriveRepository (migration 010) against the real Postgres', () => {
  let pool: Pool;
  const topic = `it-redrive-repo.${randomUUID().slice(0, 8)}.billing.usage.recorded.v1.dlq`;

  before(async () => {
    await migrate(DATABASE_URL);
    pool = createPgPool(DATABASE_URL, { max: 4 });
  });
  after(async () => {
    await pool?.end();
  });

  const run = async (repo: RedriveRepository) => {
    const redriveId = randomUUID();
    await repo.startRun({ redriveId, mode: 'manual', actor: 'it', cause: 'dependency', filter: { namespace: 'it' }, reason: '', planned: 1 });
    return redriveId;
  };
  const claim = (redriveId: string, offset: string): DlqRedriveClaim => ({
    dlqTopic: topic,
    partition: 0,
    offset,
    redriveId,
    sourceTopic: 'billing.usage.recorded.v1',
    cause: 'dependency',
    errorCode: 'redis_unavailable',
    eventId: randomUUID(),
  });

  it('a claim is owned by one live run; published is final; an interrupted run’s claim is taken over once stale', async () => {
    const repo = new RedriveRepository(pool);
    const a = await run(repo);
    const b = await run(repo);
    assert.equal(await repo.claim(claim(a, '1')), true, 'first claim');
    assert.equal(await repo.claim(claim(a, '1')), true, 'the same run may retake its own unpublished claim (resume)');
    assert.equal(await repo.claim(claim(b, '1')), false, 'another run may not take a fresh claim');
    // Run a is interrupted before it publishes: once the claim is stale, run b takes it over.
    const impatient = new RedriveRepository(pool, 0);
    assert.equal(await impatient.claim(claim(b, '1')), true, 'a stale unpublished claim is taken over');
    await impatient.markPublished({ dlqTopic: topic, partition: 0, offset: '1' }, b, { partition: 1, offset: '42' });
    assert.equal(await impatient.claim(claim(a, '1')), false, 'a published dead letter is never claimed again');
    assert.deepEqual(
      [
        ...(await repo.published([
          { dlqTopic: topic, partition: 0, offset: '1' },
          { dlqTopic: topic, partition: 0, offset: '2' },
        ])),
      ],
      [`${topic}/0/1`],
    );
    // markPublished by a run that lost the claim changes nothing.
    assert.equal(await repo.claim(claim(a, '2')), true);
    await repo.markPublished({ dlqTopic: topic, partition: 0, offset: '2' }, b, { partition: 0, offset: '1' });
    assert.equal((await repo.published([{ dlqTopic: topic, partition: 0, offset: '2' }])).size, 0);
    await repo.finishRun(b, { published: 1, skipped: 0, failed: 0, error: null });
    const row = (await repo.runs(1000)).find((r) => r.redrive_id === b);
    assert.equal(row?.published, 1);
    assert.ok(row?.finished_at instanceof Date);
    assert.deepEqual(
      (await repo.publishedBy(b)).map((p) => [p.dlq_offset, p.dlq_topic]),
      [['1', topic]],
    );
  });

  it('refuses malformed keys with a Postgres error instead of storing them', async () => {
    const repo = new RedriveRepository(pool);
    const a = await run(repo);
    await assert.rejects(repo.claim({ ...claim(a, '-1') }), /dlq_offset|check constraint|violates/);
    await assert.rejects(repo.claim({ ...claim(a, 'not-a-number') }), /invalid input syntax|bigint/);
  });
});
