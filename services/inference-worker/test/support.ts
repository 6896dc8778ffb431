/**
 * Shared set-up of the inference worker's integration specs on the real local stack (`infra/local/up.sh`, then
 * `set -a; . .local/stack.env`): the Kafka clients that feed and observe the worker, the worker's environment as a
 * child process, producing routed requests, and reading the worker's Prometheus metrics.
 */
import assert from 'node:assert/strict';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import type { InferenceRequestRouted, TopicName } from '@llmgov/contracts';
import { AvroSerde, createKafka } from '@llmgov/kafka-runtime';
import { createLogger } from '@llmgov/observability';

/** The platform config, a Kafka admin and producer (connected) and the Avro serde; `close` copes with a half-done `open`. */
export class WorkerTestClients {
  config!: PlatformConfig;
  kafka!: Kafka;
  admin: Admin | undefined;
  producer: Producer | undefined;
  serde!: AvroSerde;

  constructor(private readonly clientId: string) {}

  async open(): Promise<void> {
    this.config = loadPlatformConfig();
    this.kafka = createKafka(this.clientId, this.config.KAFKA_BROKERS, createLogger('it', 'error'));
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.producer = this.kafka.producer();
    await this.producer.connect();
    this.serde = new AvroSerde(new SchemaRegistry({ host: this.config.SCHEMA_REGISTRY_URL }));
  }

  /** Produces one record per request to `topic` (key = job id); returns the last offset written to each partition. */
  async produce(topic: TopicName, requests: readonly InferenceRequestRouted[]): Promise<Map<number, string>> {
    const last = new Map<number, string>();
    for (const r of requests) {
      const [meta] = await this.producer!.send({ topic, messages: [{ key: r.job_id, value: await this.serde.encode(topic, r) }] });
      last.set(meta!.partition, meta!.baseOffset!);
    }
    return last;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }
}

/**
 * The environment of a worker child process on this stack: its HTTP port, consumer group (KAFKA_GROUP_ID, not from
 * the beginning), tier M only, engine metrics scraped every 100 ms, `poolsFile`, and the log level.
 */
export function workerEnv(config: PlatformConfig, w: { port: number; group: string; poolsFile: string; logLevel: string }): Record<string, string> {
  return {
    KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL,
    REDIS_URL: config.REDIS_URL,
    DATABASE_URL: config.DATABASE_URL,
    HTTP_PORT: String(w.port),
    LOG_LEVEL: w.logLevel,
    KAFKA_GROUP_ID: w.group,
    KAFKA_FROM_BEGINNING: 'false',
    WORKER_TIERS: 'M',
    SCRAPE_INTERVAL_MS: '100',
    POOLS_FILE: w.poolsFile,
  };
}

/** The worker's flow-control decisions (pause, resume) by tier. */
export const FLOW = 'inference_flow_control_total';
/** Partitions the worker's consumer holds paused, by topic. */
export const PAUSED = 'kafka_paused_partitions';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Samples of the Prometheus text format by metric name (comments skipped, label values unescaped). */
function parseProm(text: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const list = out.get(m[1]!) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

/** One scrape of a worker's `/metrics`. */
export class WorkerMetrics {
  private constructor(private readonly samples: Map<string, Sample[]>) {}

  /** Scrapes `<url>/metrics` (asserting HTTP 200), giving up after `timeoutMs`. */
  static async of(url: string, timeoutMs: number): Promise<WorkerMetrics> {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    assert.equal(res.status, 200);
    return new WorkerMetrics(parseProm(await res.text()));
  }

  /** Sum of the samples of `name` whose labels include `labels` (0 when there are none). */
  get(name: string, labels: Record<string, string> = {}): number {
    return (this.samples.get(name) ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
  }

  /** Whether a sample of `name` with `labels` exists at all. */
  has(name: string, labels: Record<string, string> = {}): boolean {
    return (this.samples.get(name) ?? []).some((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
}
