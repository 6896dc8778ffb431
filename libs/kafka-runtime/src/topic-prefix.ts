import type { Kafka } from 'kafkajs';

/**
 * A Kafka namespace: benchmarks and probes run the real services against `<prefix><catalog topic>` topics and
 * `<prefix><group>` consumer groups (`KAFKA_TOPIC_PREFIX`), so they never feed or move the live platform's groups.
 * Handlers, metrics, `RecordContext.topic` and schema subjects keep the catalog's (logical) names; only the names
 * sent to the broker carry the prefix. The empty prefix is the live platform.
 */
export class TopicNamespace {
  constructor(readonly prefix: string = '') {
    if (!/^[A-Za-z0-9._-]*$/.test(prefix)) throw new Error(`topic prefix ${JSON.stringify(prefix)} has characters Kafka does not allow in topic names`);
  }

  /** The broker's name of a catalog topic (or DLQ, or group id). */
  wire(name: string): string {
    return this.prefix + name;
  }

  /** The catalog's name of a broker topic; names outside the namespace are returned unchanged. */
  logical(name: string): string {
    return this.prefix !== '' && name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }
}

/** What `deleteNamespace` removed. */
export interface DeletedNamespace {
  topics: string[];
  groups: string[];
}

/**
 * Deletes every topic and consumer group whose name starts with `prefix` (the end of a benchmark or probe run).
 * Groups go first, since a group with committed offsets on a topic being deleted keeps stale offsets otherwise.
 * @throws Error when `prefix` is shorter than 3 characters: an empty or tiny prefix would match live topics.
 * @throws KafkaJS errors when a group still has active members (stop its consumers first) or the broker is down.
 */
export async function deleteNamespace(kafka: Kafka, prefix: string): Promise<DeletedNamespace> {
  if (prefix.length < 3) throw new Error(`refusing to delete the namespace ${JSON.stringify(prefix)}: a prefix of at least 3 characters is required`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups: all } = await admin.listGroups();
    const groups = all.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return { topics, groups };
  } finally {
    await admin.disconnect();
  }
}
