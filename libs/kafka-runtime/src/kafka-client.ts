import { Kafka, logLevel, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '@llmgov/observability';

/** A kafkajs client whose logs go to our structured logger. kafkajs' own connection retry: 300 ms start, x2, ±20 %. */
export function createKafka(clientId: string, brokers: string[], logger: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 30_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...fields } = log;
        const method = level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';
        logger[method]({ kafkajs: fields }, `kafkajs: ${message}`);
      },
  });
}

/**
 * Creates the topics that do not exist yet (idempotent; existing topics are left as they are).
 * @param topics kafkajs topic configs, e.g. `kafkaTopicConfigs()` from @llmgov/contracts.
 * @returns the names created.
 */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await admin.createTopics({ waitForLeaders: true, topics: missing });
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}
