/**
 * `llmgov replay` against the local stack's Kafka, registry and Postgres: a topic of this run only
 * (`<prefix>inference.request.submitted.v1`, three partitions) holding 36 submitted requests of two tenants and three
 * routes with known broker timestamps; the built CLI (`dist/src/main.js`) or `replayCommand` in process (to interrupt
 * it). Skipped without KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Topics, registerSchemas, type InferenceRequestSubmitted } from '@llmgov/contracts';
import { countTokens } from '@llmgov/embeddings';
import { AvroSerde, deleteNamespace, headersToStrings } from '@llmgov/kafka-runtime';
import { ReplayRepository, createPgPool, migrate, type Pool } from '@llmgov/persistence';
import { worstCaseCost } from '@llmgov/billing';
import { ReplayHeaders, ReplayInputError, type DryRunReport } from '@llmgov/replay';
import { replayCommand, type ReplayCommandOptions, type ReplayReport } from '../src/commands/replay.js';
import { runCli } from './support.js';

const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env;
const CATALOG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../services/cost-attributor/price-catalog/v2.json');
const run8 = randomUUID().slice(0, 8);
const prefix = `replay-it-${run8}.`;
const topic = `${prefix}${Topics.inferenceSubmitted}`;
const tenantA = `rpa-${run8}`;
const tenantB = `rpb-${run8}`;
const ROUTES = ['squad-qa', 'support-faq', null] as const;
/** Broker timestamps of the records: base + i seconds, an hour ago (inside the topic's 7-day retention). */
const base = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Sent {
  value: InferenceRequestSubmitted;
  timestamp: number;
}

const llmgov = (...args: string[]) => runCli(args, { env: { KAFKA_TOPIC_PREFIX: prefix } });

/** Every record of `t` up to its current end, with headers as strings (transaction markers included in the end). */
async function readAll(kafka: Kafka, t: string): Promise<{ partition: number; offset: bigint; headers: Record<string, string>; value: Buffer | null }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(t);
  await admin.disconnect();
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const out: { partition: number; offset: bigint; headers: Record<string, string>; value: Buffer | null }[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `test-scan-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: t, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { partition, lastOffset } = e.payload as { partition: number; lastOffset: string };
      const end = remaining.get(partition);
      if (end !== undefined && BigInt(lastOffset) + 1n >= end) remaining.delete(partition);
      if (remaining.size === 0) resolve();
    });
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push({ partition, offset: BigInt(message.offset), headers: headersToStrings(message.headers), value: message.value });
    },
  });
  await done;
  await consumer.disconnect();
  return out;
}

describe(
  'llmgov replay against Kafka, the registry and Postgres',
  { skip: KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL ? false : 'the local stack is needed' },
  () => {
    let kafka: Kafka;
    let producer: Producer;
    let serde: AvroSerde;
    let pool: Pool;
    const sent: Sent[] = [];

    before(async () => {
      kafka = new Kafka({ clientId: 'replay-it', brokers: KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
      await admin.disconnect();
      const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL! });
      await registerSchemas(registry, { registryUrl: SCHEMA_REGISTRY_URL! });
      serde = new AvroSerde(registry);
      await migrate(DATABASE_URL!);
      pool = createPgPool(DATABASE_URL!, { max: 2 });
      producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < 36; i++) {
        const jobId = randomUUID();
        const value: InferenceRequestSubmitted = {
          event_id: randomUUID(),
          tenant_id: i % 3 === 2 ? tenantB : tenantA,
          occurred_at: base + i * 1000,
          schema_version: 2,
          correlation_id: jobId,
          job_id: jobId,
          idempotency_key: null,
          prompt: `question number ${i}: what is ${'very '.repeat(i % 5)}important?`,
          system_prompt: i % 4 === 0 ? 'Answer briefly.' : null,
          budget: { latency_ms: 30_000, max_cost_usd: 0.01, min_quality: 0.5 },
          options: { max_tokens: 16 + i, temperature: 0, rag: false, tier_hint: null },
          team: null,
          feature: i % 2 === 0 ? 'qa' : null,
          metadata: {},
          route: ROUTES[i % 3 === 2 ? 0 : i % 2]!,
        };
        sent.push({ value, timestamp: base + i * 1000 });
        await producer.send({
          topic,
          messages: [
            { key: jobId, value: await serde.encode(Topics.inferenceSubmitted, value), timestamp: String(base + i * 1000), headers: { origin: 'test' } },
          ],
        });
      }
    });

    after(async () => {
      await producer?.disconnect();
      await pool?.query(`DELETE FROM replays WHERE topic = $1`, [topic]).catch(() => undefined);
      await pool?.end();
      if (kafka) await deleteNamespace(kafka, prefix).catch(() => undefined);
    });

    it('replays a time window of one tenant: exactly the matching records, once, with replay.id and origin.event.id', async () => {
      const from = base + 5000;
      const to = base + 20_000;
      const expected = sent.filter((s) => s.timestamp >= from && s.timestamp < to && s.value.tenant_id === tenantA);
      const res = await llmgov('replay', '--topic', topic, '--from', iso(from), '--to', iso(to), '--tenant', tenantA, '--rate', '200/s', '--json');
      assert.equal(res.code, 0, res.stderr);
      const report = JSON.parse(res.stdout) as ReplayReport;
      assert.equal(report.state, 'completed');
      assert.equal(report.republished, expected.length);
      assert.equal(report.matched, expected.length);
      assert.equal(report.scanned, 15);
      assert.equal(report.group_id, `llmgov-replay-${report.replay_id}`);

      const copies = (await readAll(kafka, topic)).filter((r) => r.headers[ReplayHeaders.replayId] === report.replay_id);
      assert.deepEqual(copies.map((c) => c.headers[ReplayHeaders.originEventId]).sort(), expected.map((e) => e.value.event_id).sort());
      for (const c of copies) {
        const v = await serde.decode<InferenceRequestSubmitted>(c.value);
        const original = sent.find((s) => s.value.event_id === v.event_id)!;
        assert.equal(c.headers[ReplayHeaders.originEventId], v.event_id, 'the envelope event id is the original');
        assert.equal(c.headers.origin, 'test', 'original headers are kept');
        assert.equal(c.headers[ReplayHeaders.target], 'reprocess');
        assert.equal(v.feature, 'replay', 'replay spend is billed as the replay feature');
        assert.equal(v.metadata['replay.original_feature'], original.value.feature ?? undefined);
        assert.equal(v.prompt, original.value.prompt);
        assert.equal(v.job_id, original.value.job_id);
      }
      const row = await new ReplayRepository(pool).get(report.replay_id);
      assert.equal(row?.state, 'completed');
      assert.equal(row?.republished, expected.length);
      // A completed replay leaves no consumer group behind (an interrupted one keeps it to resume from).
      const admin = kafka.admin();
      await admin.connect();
      const { groups } = await admin.listGroups();
      await admin.disconnect();
      assert.ok(!groups.some((g) => g.groupId === report.group_id), `${report.group_id} was not deleted`);
    });

    it('dry run: counts by tenant, route and topic, the span, and the cost from the price catalog; publishes nothing', async () => {
      const admin = kafka.admin();
      await admin.connect();
      const before = await admin.fetchTopicOffsets(topic);
      const from = base;
      const to = base + 30_000;
      const res = await llmgov('replay', '--topic', topic, '--from', String(from), '--to', String(to), '--route', 'squad-qa', '--dry-run', '--json');
      assert.equal(res.code, 0, res.stderr);
      const r = JSON.parse(res.stdout) as DryRunReport;
      const expected = sent.filter((s) => s.timestamp >= from && s.timestamp < to && s.value.route === 'squad-qa');
      assert.equal(r.matched, expected.length);
      assert.equal(r.scanned, 30);
      const byTenant: Record<string, number> = {};
      for (const e of expected) byTenant[e.value.tenant_id] = (byTenant[e.value.tenant_id] ?? 0) + 1;
      assert.deepEqual(r.by_tenant, byTenant);
      assert.deepEqual(r.by_route, { 'squad-qa': expected.length });
      assert.deepEqual(r.by_topic, { [topic]: expected.length });
      assert.equal(r.first_record_at, iso(Math.min(...expected.map((e) => e.timestamp))));
      assert.equal(r.last_record_at, iso(Math.max(...expected.map((e) => e.timestamp))));
      // The catalog has no per-token price for these requests (no model yet): its default API price, per request
      // rounded up to whole micro-USD like a reservation.
      const catalog = JSON.parse(readFileSync(CATALOG, 'utf8')) as { version: string; default: { input_per_1m_tokens: number; output_per_1m_tokens: number } };
      const micro = expected.reduce((n, e) => {
        const text = [e.value.system_prompt ?? '', e.value.prompt].filter((s) => s !== '').join('\n');
        return n + worstCaseCost({ kind: 'api', ...catalog.default }, { promptTokens: countTokens(text), maxTokens: e.value.options.max_tokens }).microUsd;
      }, 0);
      assert.equal(r.cost.micro_usd, micro);
      assert.ok(micro > 0);
      assert.equal(r.cost.price_catalog_version, catalog.version);
      assert.deepEqual(r.cost.records_by_price, { default: expected.length });
      assert.deepEqual(await admin.fetchTopicOffsets(topic), before, 'a dry run publishes nothing');
      await admin.disconnect();
    });

    it('an interrupted replay resumes from its checkpoint and republishes every matching record exactly once', async () => {
      const stop = new AbortController();
      const first = (await replayCommand(
        { topic, from: iso(base), to: iso(base + 36_000), tenant: tenantB, target: 'reprocess', priceCatalog: CATALOG, topicPrefix: prefix },
        { signal: stop.signal, maxRecordsPerTransaction: 2, onCheckpoint: (p) => p.republished >= 2 && stop.abort() },
      )) as ReplayReport;
      assert.equal(first.state, 'interrupted');
      assert.ok(first.republished >= 2 && first.republished < 12, `republished ${first.republished} before the stop`);
      const stored = await new ReplayRepository(pool).get(first.replay_id);
      assert.equal(stored?.state, 'interrupted');
      assert.equal(stored?.republished, first.republished);

      const res = await llmgov('replay', '--resume', first.replay_id, '--json');
      assert.equal(res.code, 0, res.stderr);
      const second = JSON.parse(res.stdout) as ReplayReport;
      assert.equal(second.state, 'completed');
      assert.equal(second.resumed, true);
      const expected = sent.filter((s) => s.value.tenant_id === tenantB);
      assert.equal(second.republished, expected.length);

      const copies = (await readAll(kafka, topic)).filter((r) => r.headers[ReplayHeaders.replayId] === first.replay_id);
      const origins = copies.map((c) => c.headers[ReplayHeaders.originEventId]);
      assert.equal(new Set(origins).size, origins.length, 'no record republished twice');
      assert.deepEqual(origins.sort(), expected.map((e) => e.value.event_id).sort());

      const again = await llmgov('replay', '--resume', first.replay_id);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /is completed; nothing to resume/);
    });

    it('refuses bad input with a clear error and exit code 1', async () => {
      const cases: [string[], RegExp][] = [
        [['--from', '2026-13-45T99:00:00Z'], /is not a valid calendar time/],
        [['--from', '2026-11-29T13:00:00'], /is not a time: use ISO 8601 with a zone/],
        [['--from', '2026-02-30'], /names a day that does not exist/],
        [['--from', iso(base + 10_000), '--to', iso(base)], /--from \S+ is after --to/],
        [['--from', '0:5,0:6'], /partition 0 is named twice/],
        [['--from', '0:x'], /is not a time|partition:offset/],
        [['--from', '9:0'], /names partition 9; the topic has partitions 0, 1, 2/],
        [['--from', '0:3', '--to', '0:1'], /partition 0: --from offset 3 is after --to offset 1/],
        [['--rate', '0/s'], /is not a rate/],
        [['--target', 'bogus'], /unknown --target "bogus"; known: reprocess/],
        [['--tenant', "x'; DROP TABLE replays; --"], /is not a tenant id/],
      ];
      // In process (each spawn of the CLI costs seconds of start-up on a busy machine); the CLI's printing of the same
      // errors is checked below.
      for (const [args, message] of cases) {
        const opts: ReplayCommandOptions = { topic, target: 'reprocess', priceCatalog: CATALOG, topicPrefix: prefix, dryRun: true };
        for (let i = 0; i < args.length; i += 2) (opts as unknown as Record<string, string>)[args[i]!.slice(2)] = args[i + 1]!;
        await assert.rejects(replayCommand(opts), (err: unknown) => err instanceof ReplayInputError && message.test(err.message), args.join(' '));
      }
      const cli = await llmgov('replay', '--topic', topic, '--from', iso(base + 10_000), '--to', iso(base), '--json');
      assert.equal(cli.code, 1);
      assert.deepEqual(JSON.parse(cli.stderr), {
        error: { code: 'invalid_range', message: `--from ${iso(base + 10_000)} is after --to ${iso(base)}`, issues: [] },
      });
      const unknown = await llmgov('replay', '--topic', `${prefix}no.such.topic.v1`, '--json');
      assert.equal(unknown.code, 1);
      assert.equal((JSON.parse(unknown.stderr) as { error: { code: string } }).error.code, 'unknown_topic');
      await assert.rejects(
        replayCommand({ topic: `${prefix}${Topics.costRecorded}`, target: 'reprocess', priceCatalog: CATALOG, topicPrefix: prefix, dryRun: true }),
        /does not exist on the broker/,
      );
      await assert.rejects(
        replayCommand({
          topic: topic.replace(Topics.inferenceSubmitted, Topics.documentSubmitted),
          route: 'squad-qa',
          target: 'reprocess',
          priceCatalog: CATALOG,
          topicPrefix: prefix,
          dryRun: true,
        }),
        /carry no route field/,
      );
      await assert.rejects(
        replayCommand({ resume: 'rp-does-not-exist', target: 'reprocess', priceCatalog: CATALOG, topicPrefix: prefix }),
        /no replay rp-does-not-exist/,
      );
      await assert.rejects(replayCommand({ resume: 'not a replay id', target: 'reprocess', priceCatalog: CATALOG, topicPrefix: prefix }), /is not a replay id/);
    });
  },
);
