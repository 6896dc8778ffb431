import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import { Topics, dlqTopic, topicCatalog, type IndexStatus, type InferenceCompleted, type InferenceJudged } from '@llmgov/contracts';
import { DlqHeaders } from '@llmgov/kafka-runtime';

/** One dead-lettered record as its `dlq.*` headers describe it. */
export interface DlqRecord {
  topic: string;
  key: string | null;
  errorCode: string;
  errorMessage: string;
  service: string;
  seenAtMs: number;
}

const header = (h: IHeaders | undefined, name: string): string => {
  const v = h?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? '' : first.toString();
};

/**
 * Reads the platform's output topics (completions, judged results, index status) and every DLQ with a fresh consumer
 * group from the current end, and keeps per job the distinct completion and judged event ids, the documents indexed
 * and the dead-lettered records. Distinct event ids, because a redelivered record of the same event is harmless
 * (consumers deduplicate on event_id) while two events for one job are a real duplicate.
 */
export class OutputCollector {
  readonly completions = new Map<string, Set<string>>();
  readonly judged = new Map<string, Set<string>>();
  readonly indexedDocuments = new Set<string>();
  readonly dlq: DlqRecord[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: SchemaRegistry,
  ) {}

  /** Joins the group and resolves once partitions are assigned, so nothing published afterwards is missed. */
  async start(groupId: string): Promise<void> {
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 30_000 });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    const dlqs = topicCatalog.map((t) => dlqTopic(t.name));
    await consumer.subscribe({ topics: [Topics.inferenceCompleted, Topics.inferenceJudged, Topics.indexStatus, ...dlqs], fromBeginning: false });
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ topic, message }) => {
        if (topic.endsWith('.dlq')) {
          this.dlq.push({
            topic,
            key: message.key?.toString() ?? null,
            errorCode: header(message.headers, DlqHeaders.errorCode),
            errorMessage: header(message.headers, DlqHeaders.errorMessage).slice(0, 300),
            service: header(message.headers, DlqHeaders.service),
            seenAtMs: Date.now(),
          });
          return;
        }
        if (!message.value) return;
        let v: unknown;
        try {
          v = await this.registry.decode(message.value);
        } catch {
          return;
        }
        if (topic === Topics.inferenceCompleted) add(this.completions, (v as InferenceCompleted).job_id, (v as InferenceCompleted).event_id);
        else if (topic === Topics.inferenceJudged) add(this.judged, (v as InferenceJudged).job_id, (v as InferenceJudged).event_id);
        else if ((v as IndexStatus).status === 'UPSERTED') this.indexedDocuments.add(`${(v as IndexStatus).tenant_id}/${(v as IndexStatus).document_id}`);
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

function add(m: Map<string, Set<string>>, jobId: string, eventId: string): void {
  let s = m.get(jobId);
  if (!s) m.set(jobId, (s = new Set()));
  s.add(eventId);
}
