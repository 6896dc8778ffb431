import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { DocumentSubmitted, InferenceRequestRouted, JobStatusChanged, SchemaName } from './generated/index.js';
import { schemaNames, schemaRecordNames, Tier } from './generated/index.js';
import { rawSchema, schemasDir } from './schemas.js';
import {
  messageKey,
  allTopicNames,
  DEFAULT_RETENTION_MS,
  dlqTopic,
  isTopicName,
  kafkaTopicConfigs,
  routedTopicForTier,
  tierForRoutedTopic,
  topicCatalog,
  Topics,
  topicSchemas,
  topicSpec,
  valueSubject,
  type TopicName,
  type TopicValue,
} from './topics.js';

// Compile-time checks: TopicValue resolves to the generated types.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeChecks: [
  Equal<TopicValue<'documents.document.submitted.v1'>, DocumentSubmitted>,
  Equal<TopicValue<typeof Topics.inferenceRoutedL>, InferenceRequestRouted>,
  Equal<TopicValue<typeof Topics.jobStatus>, JobStatusChanged>,
] = [true, true, true];

describe('topic catalog', () => {
  it('resolves topic value types at compile time', () => assert.deepEqual(typeChecks, [true, true, true]));

  it('lists every topic of Topics exactly once', () => {
    const names = topicCatalog.map((s) => s.name);
    assert.deepEqual([...names].sort(), Object.values(Topics).sort());
    assert.equal(new Set(names).size, names.length);
  });

  it('gives every topic a schema file that exists, and every schema file a topic', () => {
    const files = readdirSync(schemasDir())
      .filter((f) => f.endsWith('.avsc'))
      .sort();
    for (const spec of topicCatalog) {
      assert.ok(files.includes(spec.schemaFile), `${spec.name}: ${spec.schemaFile} missing`);
      assert.equal(spec.schemaFile, `${spec.schemaName}.avsc`);
      assert.equal(spec.schemaName, topicSchemas[spec.name]);
    }
    assert.deepEqual([...new Set(topicCatalog.map((s) => s.schemaFile))].sort(), files);
    assert.deepEqual(
      files.map((f) => f.replace(/\.avsc$/, '')),
      [...schemaNames].sort(),
    );
  });

  it('names topics <domain>.<entity>.<event>.v<major>, with the routed tier as an extra segment', () => {
    for (const spec of topicCatalog) {
      assert.match(spec.name, /^(documents|inference|jobs|billing|feedback)\.[a-z]+\.[a-z]+(\.[sml])?\.v[0-9]+$/, spec.name);
    }
  });

  it('uses the subject <topic>-value and the DLQ <topic>.dlq', () => {
    for (const spec of topicCatalog) {
      assert.equal(spec.subject, `${spec.name}-value`);
      assert.equal(spec.subject, valueSubject(spec.name));
      assert.equal(spec.dlq, `${spec.name}.dlq`);
      assert.equal(spec.dlq, dlqTopic(spec.name));
    }
  });

  it('keeps records 7 days with the delete policy, 3 partitions on the busy topics', () => {
    const busy: TopicName[] = [
      Topics.documentSubmitted,
      Topics.documentValidated,
      Topics.chunkEmbedded,
      Topics.inferenceSubmitted,
      Topics.inferenceValidated,
      Topics.inferenceRoutedS,
      Topics.inferenceRoutedM,
      Topics.inferenceRoutedL,
      Topics.inferenceCompleted,
      Topics.usageRecorded,
      Topics.jobStatus,
      Topics.indexStatus,
    ];
    for (const spec of topicCatalog) {
      assert.equal(spec.retentionMs, DEFAULT_RETENTION_MS);
      assert.equal(spec.retentionMs, 604_800_000);
      assert.equal(spec.cleanupPolicy, 'delete');
      assert.ok([1, 3].includes(spec.partitions), `${spec.name}: ${spec.partitions} partitions`);
      if (busy.includes(spec.name)) assert.equal(spec.partitions, 3, spec.name);
    }
  });

  it('keys every topic by fields its schema has', () => {
    for (const spec of topicCatalog) {
      for (const keyField of spec.keyFields) {
        const field = rawSchema(spec.schemaName).fields.find((f) => f.name === keyField);
        assert.ok(field, `${spec.name}: key field ${keyField} is not in ${spec.schemaFile}`);
        assert.equal(field.type, 'string', `${spec.name}: key field ${keyField} must be a non-null string`);
      }
    }
  });

  it('derives message keys from the key fields', () => {
    assert.equal(messageKey(Topics.jobStatus, { job_id: 'j1' } as never), 'j1');
    assert.equal(messageKey(Topics.documentValidated, { tenant_id: 't', document_id: 'd' } as never), 't/d');
    assert.throws(() => messageKey(Topics.usageRecorded, { tenant_id: null } as never), /key field tenant_id is null/);
  });

  it('maps tiers to routed topics and back', () => {
    assert.equal(routedTopicForTier('S'), 'inference.request.routed.s.v1');
    assert.equal(routedTopicForTier(Tier.M), 'inference.request.routed.m.v1');
    assert.equal(routedTopicForTier('L'), 'inference.request.routed.l.v1');
    for (const tier of Object.values(Tier)) assert.equal(tierForRoutedTopic(routedTopicForTier(tier)), tier);
    assert.equal(tierForRoutedTopic(Topics.inferenceCompleted), undefined);
    assert.throws(() => routedTopicForTier('XL' as Tier), /unknown tier "XL"/);
    const routed = new Set<SchemaName>([Topics.inferenceRoutedS, Topics.inferenceRoutedM, Topics.inferenceRoutedL].map((t) => topicSpec(t).schemaName));
    assert.deepEqual([...routed], ['inference.request.routed.v1']);
    assert.equal(schemaRecordNames['inference.request.routed.v1'], 'com.llmgov.inference.InferenceRequestRouted');
  });

  it('lists every topic and every DLQ in allTopicNames()', () => {
    const all = allTopicNames();
    assert.equal(all.length, topicCatalog.length * 2);
    for (const spec of topicCatalog) {
      assert.ok(all.includes(spec.name));
      assert.ok(all.includes(`${spec.name}.dlq`));
    }
    assert.equal(new Set(all).size, all.length);
  });

  it('looks topics up by name and rejects unknown ones', () => {
    assert.equal(isTopicName('jobs.job.status.v1'), true);
    assert.equal(isTopicName('jobs.job.status.v1.dlq'), false);
    assert.deepEqual(topicSpec(Topics.jobStatus).keyFields, ['job_id']);
    assert.throws(() => topicSpec('nope.v1'), /unknown topic "nope.v1"/);
  });

  it('builds createTopics configs for topics and DLQs', () => {
    const configs = kafkaTopicConfigs({ replicationFactor: 1 });
    assert.equal(configs.length, topicCatalog.length * 2);
    const routed = configs.find((c) => c.topic === 'inference.request.routed.m.v1');
    assert.deepEqual(routed, {
      topic: 'inference.request.routed.m.v1',
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [
        { name: 'retention.ms', value: '604800000' },
        { name: 'cleanup.policy', value: 'delete' },
      ],
    });
    const dlq = configs.find((c) => c.topic === 'inference.request.routed.m.v1.dlq');
    assert.equal(dlq?.numPartitions, 3);
    assert.equal(dlq?.configEntries[0]?.value, String(14 * 24 * 3600 * 1000));
  });
});
