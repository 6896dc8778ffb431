import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { TopicNamespace, deleteNamespace } from './topic-prefix.js';

describe('TopicNamespace', () => {
  it('maps catalog names to broker names and back', () => {
    const ns = new TopicNamespace('bench.r1.');
    assert.equal(ns.wire('inference.request.routed.s.v1'), 'bench.r1.inference.request.routed.s.v1');
    assert.equal(ns.logical('bench.r1.inference.request.routed.s.v1'), 'inference.request.routed.s.v1');
    assert.equal(ns.logical('inference.request.routed.s.v1'), 'inference.request.routed.s.v1');
  });

  it('is the identity without a prefix', () => {
    const ns = new TopicNamespace();
    assert.equal(ns.wire('jobs.job.status.v1'), 'jobs.job.status.v1');
    assert.equal(ns.logical('jobs.job.status.v1'), 'jobs.job.status.v1');
  });

  it('rejects characters Kafka does not allow in topic names', () => {
    assert.throws(() => new TopicNamespace('bench/run 1'), /characters Kafka does not allow/);
  });
});

describe('deleteNamespace', () => {
  it('refuses an empty or tiny prefix before contacting the broker', async () => {
    const kafka = { admin: () => assert.fail('must not connect') } as unknown as Kafka;
    await assert.rejects(deleteNamespace(kafka, ''), /at least 3 characters/);
    await assert.rejects(deleteNamespace(kafka, 'b.'), /at least 3 characters/);
  });
});
