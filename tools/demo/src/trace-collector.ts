import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka } from 'kafkajs';
import { TopicNamespace } from '@llmgov/kafka-runtime';
import {
  Topics,
  type ChunkEmbedded,
  type IndexStatus,
  type InferenceCompleted,
  type InferenceJudged,
  type InferenceRequestRouted,
  type InferenceRequestValidated,
} from '@llmgov/contracts';

/** Per-job event times (epoch ms, from each event's occurred_at) and facts seen on the pipeline topics. */
export interface JobTrace {
  validatedAt?: number;
  routedAt?: number;
  completedAt?: number;
  judgedAt?: number;
  tier?: string;
  fromCache?: boolean;
  ttftMs?: number;
  verdict?: string;
}

/**
 * Reads the pipeline topics from the beginning with a fresh consumer group (a data team's view of the
 * platform) and keeps: which documents are indexed, and per job the time each stage published.
 */
export class TraceCollector {
  readonly indexedDocuments = new Set<string>();
  readonly jobs = new Map<string, JobTrace>();
  private consumer: Consumer | undefined;
  private groupId: string | undefined;
  private readonly waiters: (() => void)[] = [];

  /** `namespace`: read a benchmark's prefixed topics (KAFKA_TOPIC_PREFIX); default: the live topics. */
  constructor(
    private readonly kafka: Kafka,
    private readonly registry: SchemaRegistry,
    private readonly namespace: TopicNamespace = new TopicNamespace(),
  ) {}

  async start(groupId: string): Promise<void> {
    this.groupId = groupId;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({
      topics: [
        Topics.indexStatus,
        Topics.inferenceValidated,
        Topics.inferenceRoutedS,
        Topics.inferenceRoutedM,
        Topics.inferenceRoutedL,
        Topics.inferenceCompleted,
        Topics.inferenceJudged,
      ].map((t) => this.namespace.wire(t)),
      fromBeginning: true,
    });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ topic, message }) => {
        if (!message.value) return;
        let v: unknown;
        try {
          v = await this.registry.decode(message.value);
        } catch {
          return;
        }
        this.record(this.namespace.logical(topic), v);
        this.waiters.splice(0).forEach((w) => w());
      },
    });
  }

  /** Resolves the next time any record was seen. */
  nextRecord(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Disconnects and deletes the collector's consumer group: each demo run reads with a fresh group, so keeping them
   * would leave one dead group per run on the broker.
   */
  async stop(): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.disconnect();
    this.consumer = undefined;
    if (!this.groupId) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteGroups([this.groupId]);
    } finally {
      await admin.disconnect();
    }
  }

  private job(id: string): JobTrace {
    let j = this.jobs.get(id);
    if (!j) this.jobs.set(id, (j = {}));
    return j;
  }

  private record(topic: string, v: unknown): void {
    switch (topic) {
      case Topics.indexStatus: {
        const s = v as IndexStatus;
        if (s.status === 'UPSERTED') this.indexedDocuments.add(`${s.tenant_id}/${s.document_id}`);
        return;
      }
      case Topics.inferenceValidated: {
        const r = v as InferenceRequestValidated;
        this.job(r.job_id).validatedAt ??= r.occurred_at;
        return;
      }
      case Topics.inferenceCompleted: {
        const r = v as InferenceCompleted;
        const j = this.job(r.job_id);
        j.completedAt ??= r.occurred_at;
        j.tier = r.tier;
        j.fromCache = r.from_cache;
        j.ttftMs = r.timings.ttft_ms;
        return;
      }
      case Topics.inferenceJudged: {
        const r = v as InferenceJudged;
        const j = this.job(r.job_id);
        j.judgedAt ??= r.occurred_at;
        j.verdict = r.verdict;
        return;
      }
      default: {
        const r = v as InferenceRequestRouted | ChunkEmbedded;
        if ('job_id' in r) this.job(r.job_id).routedAt ??= r.occurred_at;
      }
    }
  }
}
