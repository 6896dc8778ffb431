import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Producer } from 'kafkajs';
import { Topics, schemaVersionOf, type JobStatusChanged, type UsageRecorded } from '@llmgov/contracts';
import { EventPublisher } from './publisher.js';
import type { AvroSerde } from './serde.js';

/** A producer double recording each sendBatch request; `fail` makes the next request fail. */
function fakeProducer() {
  const requests: { topic: string; keys: string[] }[][] = [];
  let fail: Error | undefined;
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: { key: string }[] }[] }) => {
      if (fail) {
        const e = fail;
        fail = undefined;
        throw e;
      }
      requests.push(topicMessages.map((t) => ({ topic: t.topic, keys: t.messages.map((m) => m.key) })));
    },
  };
  return { producer: producer as unknown as Producer, requests, failNext: (e: Error) => (fail = e) };
}

const serde = { encode: async (_t: string, v: unknown) => Buffer.from(JSON.stringify(v)) } as unknown as AvroSerde;
const status = (jobId: string): JobStatusChanged => ({
  event_id: `e-${jobId}`,
  tenant_id: 't',
  occurred_at: 0,
  schema_version: 1,
  correlation_id: jobId,
  job_id: jobId,
  state: 'in_progress',
  stage: 's',
  result: null,
  error: null,
});

describe(EventPublisher.name, () => {
  it('sends the publishes of one turn in one produce request, keyed by the catalog, in call order', async () => {
    const { producer, requests } = fakeProducer();
    const sut = new EventPublisher(producer, serde);
    await Promise.all(['a', 'b', 'c'].map((id) => sut.publish(Topics.jobStatus, { value: status(id) })));
    assert.deepEqual(requests, [[{ topic: Topics.jobStatus, keys: ['a', 'b', 'c'] }]]);
  });

  it("writes the topic's current schema_version into the envelope, whatever the value said", async () => {
    const { producer } = fakeProducer();
    const encoded: { topic: string; value: { schema_version: number } }[] = [];
    const recording = {
      encode: async (topic: string, v: { schema_version: number }) => {
        encoded.push({ topic, value: v });
        return Buffer.from('x');
      },
    } as unknown as AvroSerde;
    const sut = new EventPublisher(producer, recording);
    await sut.publish(Topics.jobStatus, { value: { ...status('a'), schema_version: 7 } });
    await sut.publish(Topics.usageRecorded, { value: { ...status('b'), schema_version: 1 } as unknown as UsageRecorded });
    assert.deepEqual(
      encoded.map((e) => [e.topic, e.value.schema_version]),
      [
        [Topics.jobStatus, schemaVersionOf(Topics.jobStatus)],
        [Topics.usageRecorded, schemaVersionOf(Topics.usageRecorded)],
      ],
    );
    assert.notEqual(schemaVersionOf(Topics.jobStatus), 7, 'the value said 7: the catalog version replaced it');
    assert.ok(schemaVersionOf(Topics.usageRecorded) >= 2, 'usage gained policy_version in schema_version 2');
  });

  it('fails every call of a request the broker refused, and the next request goes out again', async () => {
    const { producer, requests, failNext } = fakeProducer();
    const sut = new EventPublisher(producer, serde);
    failNext(new Error('broker down'));
    const results = await Promise.allSettled(['a', 'b'].map((id) => sut.publish(Topics.jobStatus, { value: status(id) })));
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    await sut.publish(Topics.jobStatus, { value: status('c') });
    assert.deepEqual(requests, [[{ topic: Topics.jobStatus, keys: ['c'] }]]);
  });

  it('splits a large gathering into requests of at most 500 messages, in order', async () => {
    const { producer, requests } = fakeProducer();
    const sut = new EventPublisher(producer, serde);
    const ids = Array.from({ length: 1200 }, (_, i) => `j${i}`);
    await Promise.all(ids.map((id) => sut.publish(Topics.jobStatus, { value: status(id) })));
    assert.deepEqual(
      requests.map((r) => r[0]!.keys.length),
      [500, 500, 200],
    );
    assert.deepEqual(
      requests.flatMap((r) => r[0]!.keys),
      ids,
    );
  });
});
