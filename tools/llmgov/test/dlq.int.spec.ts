import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Topics, registerSchemas } from '@llmgov/contracts';
import { RetriableError } from '@llmgov/errors';
import {
  DeadLetterPublisher,
  DeadLetterReader,
  DeadLetterRedriver,
  DependencyRedrive,
  KafkaConsumerRunner,
  Outcome,
  RedriveHeaders,
  TopicNamespace,
  createAvroSerde,
  createKafka,
  deleteNamespace,
  headersToStrings,
  type DeadLetterRecord,
  type RecordHandler,
} from '@llmgov/kafka-runtime';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import { RedriveRepository, createPgPool, createRedis, migrate, type Pool, type Redis } from '@llmgov/persistence';
import { eventually } from '@llmgov/testing';
import { repoRoot, runCli } from './support.js';

const exec = promisify(execFile);
const env = (k: string, d: string) => process.env[k] ?? d;
const BROKERS = env('KAFKA_BROKERS', '127.0.0.1:19092').split(',');
const REGISTRY = env('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7');
const DATABASE_URL = env('DATABASE_URL', 'postgres://llmgov:llmgov@127.0.0.1:15432/llmgov');
const REDIS_URL = env('REDIS_URL', 'redis://127.0.0.1:16379');

/** Stops or starts the local Redis with infra/local's own scripts (as the chaos suite does). */
async function redisStack(action: 'down' | 'up'): Promise<void> {
  await exec('bash', [path.join(repoRoot, 'infra/local', `${action}.sh`), '--only', 'redis'], { cwd: repoRoot, maxBuffer: 8 << 20 });
}

/** Runs the built CLI as a child process in the test's topic namespace. */
const llmgov = (prefix: string, ...args: string[]) =>
  runCli(args, { env: { KAFKA_TOPIC_PREFIX: prefix, LLMGOV_USER: 'dlq-test', NO_COLOR: '1', LOG_LEVEL: 'error' }, timeoutMs: 120_000, maxBuffer: 16 << 20 });

const fixture = (schema: string, file: string) =>
  JSON.parse(readFileSync(path.join(repoRoot, 'schemas/fixtures', schema, file), 'utf8')) as Record<string, unknown>;

describe('dead letters by cause: a Redis outage dead-letters records as `dependency`; redriven once Redis is back, one effect each', () => {
  const run = randomUUID().slice(0, 8);
  const prefix = `it.dlq.${run}.`;
  const ns = new TopicNamespace(prefix);
  /** Redriven automatically (the DependencyRedrive of its consumer). */
  const autoTopic = Topics.feedbackSubmitted;
  /** Redriven by hand with `llmgov dlq redrive --topic`. */
  const manualTopic = Topics.labelCurated;
  const logger = createLogger('dlq-it', process.env.DLQ_IT_LOG_LEVEL ?? 'error');
  const kafka = createKafka(`dlq-it-${run}`, BROKERS, logger);
  const serde = createAvroSerde(REGISTRY);
  const effectsKey = `it:dlq:${run}:effects`;
  const markerKey = (eventId: string) => `it:dlq:${run}:done:${eventId}`;
  let redis: Redis;
  let pool: Pool;
  let producer: Producer;
  let runner: KafkaConsumerRunner;
  const metrics = new PlatformMetrics('dlq-it');

  /**
   * The consumer under test, shaped like the platform's: it deduplicates on the value's event_id with a fire-once
   * marker in Redis (`SET NX`), and its effect (HINCRBY of a counter per event id) is not idempotent by itself, so a
   * second effect for one event would show as a count of 2. Redis failures are RetriableError `redis_unavailable`, as
   * @llmgov/persistence classifies them. The runner has no dependency probe, so a record failing through its retries
   * during the outage is dead-lettered (the case where a probe does not see the outage).
   */
  const handler: RecordHandler = async (value) => {
    const { event_id } = value as { event_id: string };
    try {
      const first = (await redis.set(markerKey(event_id), '1', 'EX', 3600, 'NX')) === 'OK';
      if (!first) return Outcome.skipped('event already handled');
      await redis.hincrby(effectsKey, event_id, 1);
      return Outcome.success();
    } catch (err) {
      throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
    }
  };

  async function publish(topic: string, value: Record<string, unknown> | Buffer): Promise<void> {
    const bytes = Buffer.isBuffer(value) ? value : await serde.encode(topic, value);
    await producer.send({ topic: ns.wire(topic), acks: -1, messages: [{ key: String((value as { job_id?: string }).job_id ?? 'k'), value: bytes }] });
  }

  const feedback = () => ({ ...fixture('feedback.feedback.submitted.v1', 'valid-thumbs-up.json'), event_id: randomUUID(), job_id: randomUUID() });
  const label = () => ({
    ...fixture('feedback.label.curated.v1', 'valid-explicit-agrees.json'),
    event_id: randomUUID(),
    feedback_event_id: randomUUID(),
    job_id: randomUUID(),
  });

  async function deadLetters(topic: string): Promise<DeadLetterRecord[]> {
    const out: DeadLetterRecord[] = [];
    await new DeadLetterReader({ kafka, namespace: ns }).scan({ topics: [topic] }, (r) => void out.push(r));
    return out;
  }

  async function effects(): Promise<Record<string, number>> {
    return Object.fromEntries(Object.entries(await redis.hgetall(effectsKey)).map(([k, v]) => [k, Number(v)]));
  }

  before(async () => {
    await migrate(DATABASE_URL);
    pool = createPgPool(DATABASE_URL, { max: 4 });
    redis = createRedis(REDIS_URL);
    redis.on('error', () => undefined); // connection errors during the outage reach the handler as rejected commands
    await registerSchemas(new SchemaRegistry({ host: REGISTRY }), { topics: [autoTopic, manualTopic], registryUrl: REGISTRY });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [autoTopic, manualTopic].flatMap((t) => [
        { topic: ns.wire(t), numPartitions: 2, replicationFactor: 1 },
        { topic: ns.wire(`${t}.dlq`), numPartitions: 1, replicationFactor: 1 },
      ]),
    });
    await admin.disconnect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    runner = new KafkaConsumerRunner({
      kafka,
      groupId: ns.wire('dlq-it.effects'),
      serviceName: 'dlq-it',
      handlers: new Map([
        [autoTopic, handler],
        [manualTopic, handler],
      ]),
      serde,
      deadLetters: new DeadLetterPublisher(producer, 'dlq-it', ns),
      metrics,
      logger,
      retry: { initialMs: 20, maxMs: 100, maxAttempts: 2 },
      maxInFlight: 8,
      partitionsConsumedConcurrently: 2,
      fromBeginning: true,
      namespace: ns,
    });
    await runner.start();
  });

  after(async () => {
    await redisStack('up').catch(() => undefined); // never leave the stack without Redis
    await runner?.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await deleteNamespace(kafka, prefix).catch(() => undefined);
    if (redis) {
      await redis.del(effectsKey).catch(() => undefined);
      redis.disconnect();
    }
    await pool?.end().catch(() => undefined);
  });

  it('dead-letters as dependency during the outage, redrives automatically and by hand after it, with exactly one effect per event', async () => {
    // Before the outage: handled once each.
    const early = [feedback(), feedback(), label()];
    for (const v of early) await publish(v === early[2] ? manualTopic : autoTopic, v);
    await eventually('the records before the outage have their effect', async () => Object.keys(await effects()).length === early.length, {
      timeoutMs: 60_000,
    });

    await redisStack('down');
    const autoBatch = [feedback(), feedback(), feedback(), feedback()];
    const manualBatch = [label(), label(), label()];
    // A duplicate of an event already handled before the outage: redriven, it must not have a second effect.
    const duplicate = { ...early[0]! };
    for (const v of [...autoBatch, duplicate]) await publish(autoTopic, v);
    for (const v of manualBatch) await publish(manualTopic, v);
    // And one record no redrive should touch: bytes that are not Avro (cause schema).
    await publish(manualTopic, Buffer.from('{"not":"avro"}'));

    const autoDead = await eventually(
      'the outage dead-letters the auto topic records',
      async () => {
        const d = await deadLetters(autoTopic);
        return d.length >= autoBatch.length + 1 ? d : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const manualDead = await eventually(
      'the outage dead-letters the manual topic records',
      async () => {
        const d = await deadLetters(manualTopic);
        return d.length >= manualBatch.length + 1 ? d : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    assert.equal(autoDead.length, autoBatch.length + 1);
    assert.ok(
      autoDead.every((r) => r.cause === 'dependency' && r.errorCode === 'redis_unavailable'),
      JSON.stringify(autoDead.map((r) => [r.cause, r.errorCode])),
    );
    assert.deepEqual(manualDead.map((r) => r.cause).sort(), ['dependency', 'dependency', 'dependency', 'schema']);

    // While Redis is down, the automatic redrive does nothing.
    const checkpoints = new RedriveRepository(pool);
    const redriver = new DeadLetterRedriver({ kafka, producer, checkpoints, serde, namespace: ns, logger, metrics });
    const auto = new DependencyRedrive({
      redriver,
      topics: [autoTopic],
      probe: async () => ((await redis.ping().catch(() => 'down')) === 'PONG' ? [] : ['redis']),
      healthyForMs: 2_000,
      checkIntervalMs: 250,
      logger,
    });
    assert.equal(await auto.tick(), undefined, 'no redrive while Redis is down');

    await redisStack('up');
    // The automatic redrive: once Redis has answered for 2 s, the dependency dead letters of its topic are republished.
    auto.start();
    const runs = await eventually(
      'an automatic redrive run is recorded',
      async () => {
        const r = (await checkpoints.runs(200)).filter(
          (x) =>
            x.mode === 'automatic' &&
            x.finished_at &&
            x.filter.namespace === prefix &&
            JSON.stringify(x.filter.topics) === JSON.stringify([`${autoTopic}.dlq`]),
        );
        const mine = r.filter((x) => x.published > 0 && x.planned === autoDead.length);
        return mine.length > 0 ? mine : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await auto.stop();
    assert.equal(runs.length, 1, 'one automatic run republished them');
    assert.equal(runs[0]!.published, autoDead.length);
    assert.match(runs[0]!.reason, /healthy since/);
    const published = await checkpoints.publishedBy(runs[0]!.redrive_id);
    assert.deepEqual(published.map((p) => p.event_id).sort(), [...autoBatch.map((v) => v.event_id), duplicate.event_id].sort());
    const counter = await metrics.deadLettersRedriven.get();
    assert.equal(counter.values.find((v) => v.labels.mode === 'automatic' && v.labels.topic === autoTopic)?.value, autoDead.length);
    // The manual topic's dead letters were not in its scope.
    assert.equal((await checkpoints.published(manualDead.map((r) => ({ ...r, dlqTopic: ns.wire(r.dlqTopic) })))).size, 0);

    // A second automatic pass republishes nothing.
    const again = await new DependencyRedrive({ redriver, topics: [autoTopic], probe: async () => [], healthyForMs: 0, logger }).tick();
    assert.equal(again, undefined);

    // By hand: list, show, dry run, redrive, redrive again.
    const list = await llmgov(prefix, 'dlq', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const groups = (JSON.parse(list.stdout) as { groups: { source_topic: string; cause: string; error_code: string; count: number }[] }).groups;
    assert.deepEqual(
      groups.map((g) => [g.source_topic, g.cause, g.error_code, g.count]),
      [
        [autoTopic, 'dependency', 'redis_unavailable', autoDead.length],
        [manualTopic, 'dependency', 'redis_unavailable', 3],
        [manualTopic, 'schema', 'undecodable', 1],
      ],
    );
    const byCause = await llmgov(prefix, 'dlq', 'list', '--cause', 'schema', '--json');
    assert.deepEqual(
      (JSON.parse(byCause.stdout) as { groups: { cause: string }[] }).groups.map((g) => g.cause),
      ['schema'],
    );

    const dep = manualDead.find((r) => r.cause === 'dependency')!;
    const show = await llmgov(prefix, 'dlq', 'show', dep.dlqTopic, String(dep.partition), dep.offset, '--json');
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { cause: string; provenance: Record<string, string>; value: { decoded: boolean; value?: { event_id: string } } };
    assert.equal(shown.cause, 'dependency');
    assert.equal(shown.provenance['dlq.cause'], 'dependency');
    assert.equal(shown.provenance['dlq.source.topic'], manualTopic);
    assert.equal(shown.value.decoded, true);
    assert.ok(manualBatch.some((v) => v.event_id === shown.value.value?.event_id));
    const junk = manualDead.find((r) => r.cause === 'schema')!;
    const showJunk = JSON.parse((await llmgov(prefix, 'dlq', 'show', junk.dlqTopic, String(junk.partition), junk.offset, '--json')).stdout) as {
      value: { decoded: boolean; reason: string; base64: string };
    };
    assert.equal(showJunk.value.decoded, false);
    assert.match(showJunk.value.reason, /magic byte/);
    assert.equal(Buffer.from(showJunk.value.base64, 'base64').toString(), '{"not":"avro"}');

    const dry = await llmgov(prefix, 'dlq', 'redrive', '--cause', 'dependency', '--topic', manualTopic, '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const dryReport = JSON.parse(dry.stdout) as Record<string, unknown> & { estimated_cost: Record<string, unknown> };
    assert.deepEqual(
      { ...dryReport, estimated_cost: undefined },
      {
        dry_run: true,
        cause: 'dependency',
        matched: 3,
        already_redriven: 0,
        to_redrive: 3,
        by_source_topic: { [manualTopic]: 3 },
        rate_per_s: 50,
        estimated_s: 1,
        estimated_cost: undefined,
      },
    );
    // Curated labels make no model call: the estimate is 0, from the shipped price catalog.
    assert.deepEqual(
      { ...dryReport.estimated_cost, method: undefined, price_catalog_version: undefined },
      {
        usd: 0,
        micro_usd: 0,
        records_by_basis: { no_model_call: 3 },
        records_by_price: {},
        undecodable: 0,
        method: undefined,
        price_catalog_version: undefined,
      },
    );
    assert.match(String(dryReport.estimated_cost.price_catalog_version), /^\d{4}-\d{2}-v\d+$/);
    const dryText = await llmgov(prefix, 'dlq', 'redrive', '--cause', 'dependency', '--topic', manualTopic, '--dry-run');
    assert.equal(dryText.code, 0, dryText.stderr);
    assert.match(dryText.stdout, /would republish 3 dead letter\(s\) of cause dependency/);
    assert.match(dryText.stdout, /\nestimated cost: 0\.000000 USD \(price catalog \S+; no_model_call 3\)\n {2}how: /);
    assert.equal((await checkpoints.published(manualDead.map((r) => ({ ...r, dlqTopic: ns.wire(r.dlqTopic) })))).size, 0, 'the dry run wrote nothing');

    const redrive = await llmgov(prefix, 'dlq', 'redrive', '--cause', 'dependency', '--topic', manualTopic, '--rate', '20/s');
    assert.equal(redrive.code, 0, redrive.stderr);
    assert.match(redrive.stdout, /3 republished, 0 skipped/);
    assert.match(redrive.stderr, /redrive \[/, 'a progress bar on stderr');
    const twice = await llmgov(prefix, 'dlq', 'redrive', '--cause', 'dependency', '--topic', manualTopic, '--json');
    assert.equal(twice.code, 0, twice.stderr);
    assert.deepEqual(
      (({ matched, already_redriven, to_redrive, published }) => ({ matched, already_redriven, to_redrive, published }))(
        JSON.parse(twice.stdout) as Record<string, number>,
      ),
      { matched: 3, already_redriven: 3, to_redrive: 0, published: 0 },
    );

    // Exactly one effect per event: every event id once, the duplicate included, none twice.
    const expected = [...early, ...autoBatch, ...manualBatch].map((v) => v.event_id as string).sort();
    const seen = await eventually(
      'every redriven record has its effect',
      async () => {
        const e = await effects();
        return Object.keys(e).length >= expected.length ? e : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(Object.keys(seen).sort(), expected);
    assert.ok(
      Object.values(seen).every((n) => n === 1),
      JSON.stringify(seen),
    );

    // The republished records carry redrive.* and no dlq.* headers, and keep their value (and so their event id).
    const source: Record<string, string>[] = [];
    const reader = kafka.consumer({ groupId: ns.wire(`dlq-it.check.${randomUUID()}`) });
    await reader.connect();
    await reader.subscribe({ topics: [ns.wire(manualTopic)], fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void source.push(headersToStrings(message.headers)) });
    await eventually('the redriven records are read back', async () => source.filter((h) => h[RedriveHeaders.id]).length >= 3, { timeoutMs: 60_000 });
    await reader.disconnect();
    const redriven = source.filter((h) => h[RedriveHeaders.id]);
    assert.equal(redriven.length, 3);
    for (const h of redriven) {
      assert.equal(Object.keys(h).filter((k) => k.startsWith('dlq.')).length, 0);
      assert.equal(h[RedriveHeaders.count], '1');
      assert.ok(manualBatch.some((v) => v.event_id === h[RedriveHeaders.eventId]));
    }
  });

  it('refuses malformed or hostile CLI input with a clear error and exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['dlq', 'list', '--since', 'yesterday'], /--since.*expected an ISO 8601 time/],
      [['dlq', 'list', '--since', '2999-01-01T00:00:00Z'], /in the future/],
      [['dlq', 'list', '--since', '1970-01-01'], /before 2000/],
      [['dlq', 'list', '--cause', 'nope'], /unknown cause "nope"; expected one of schema, validation, engine, budget, guardrail, dependency, bug/],
      [['dlq', 'redrive', '--cause', '__proto__', '--dry-run'], /unknown cause "__proto__"/],
      [['dlq', 'redrive', '--dry-run'], /required option '--cause <cause>' not specified/],
      [['dlq', 'list', '--topic', 'no.such.topic.v1'], /"no.such.topic.v1" is not a topic of the catalog/],
      [['dlq', 'list', '--topic', Topics.jobStatus], /no dead-letter topic .*jobs\.job\.status\.v1\.dlq on the broker/],
      [['dlq', 'redrive', '--cause', 'dependency', '--rate', '-5', '--dry-run'], /expected a rate in records per second/],
      [['dlq', 'redrive', '--cause', 'dependency', '--rate', '1e9', '--dry-run'], /expected a rate in records per second/],
      [['dlq', 'show', `${Topics.feedbackSubmitted}.dlq`, 'x', '0'], /expected a partition number/],
      [['dlq', 'show', `${Topics.feedbackSubmitted}.dlq`, '0', '-1'], /expected an offset/],
      [['dlq', 'show', `${Topics.feedbackSubmitted}.dlq`, '0', '99999999'], /no record at/],
    ];
    for (const [args, message] of cases) {
      const r = await llmgov(prefix, ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
    }
    const jsonErr = await llmgov(prefix, 'dlq', 'list', '--topic', 'nope', '--json');
    assert.deepEqual(Object.keys((JSON.parse(jsonErr.stderr) as { error: object }).error), ['code', 'message', 'issues']);
    assert.equal((JSON.parse(jsonErr.stderr) as { error: { code: string } }).error.code, 'unknown_topic');
  });
});
