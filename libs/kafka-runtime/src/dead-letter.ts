import type { IHeaders, Producer } from 'kafkajs';
import { DlqHeaders } from './headers.js';
import { deadLetterCause, errorClass, errorCode, errorMessage } from '@llmgov/errors';
import type { TopicNamespace } from './topic-prefix.js';

/** Name of a topic's dead-letter topic. */
export const dlqTopicFor = (topic: string): string => `${topic}.dlq`;

/** Where a failed record came from and why it failed. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  error: unknown;
  attempts: number;
}

const MAX_MESSAGE_HEADER_CHARS = 2000;

/**
 * Writes failed records to `<topic>.dlq`: the original key and value bytes unchanged, the original headers,
 * plus provenance headers (source topic, partition, offset, error class/code/message, attempts, service, time) and the
 * cause class `dlq.cause` (`deadLetterCause` of @llmgov/errors).
 * Resolves only once the broker acknowledged the write (acks = all), so the caller may then commit the offset.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly service: string,
    /** With a namespace, `dl.topic` is the catalog name and the DLQ is `<prefix><topic>.dlq`. */
    private readonly namespace?: TopicNamespace,
  ) {}

  async send(dl: DeadLetter): Promise<void> {
    const headers: IHeaders = {
      ...(dl.headers ?? {}),
      [DlqHeaders.sourceTopic]: dl.topic,
      [DlqHeaders.sourcePartition]: String(dl.partition),
      [DlqHeaders.sourceOffset]: dl.offset,
      [DlqHeaders.errorClass]: errorClass(dl.error),
      [DlqHeaders.errorCode]: errorCode(dl.error),
      [DlqHeaders.errorMessage]: errorMessage(dl.error).slice(0, MAX_MESSAGE_HEADER_CHARS),
      [DlqHeaders.attempts]: String(dl.attempts),
      [DlqHeaders.service]: this.service,
      [DlqHeaders.time]: new Date().toISOString(),
      [DlqHeaders.cause]: deadLetterCause(dl.error),
    };
    await this.producer.send({
      topic: this.namespace?.wire(dlqTopicFor(dl.topic)) ?? dlqTopicFor(dl.topic),
      acks: -1,
      messages: [{ key: dl.key, value: dl.value, headers }],
    });
  }
}
