import { Catch, Controller, UseFilters, applyDecorators, type RpcExceptionFilter } from '@nestjs/common';
import { EventPattern, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom, throwError, type Observable } from 'rxjs';
import type { DlqTopicName, TopicName, TopicValue } from '@llmgov/contracts';
import type { HandlerOutcome, RecordContext } from './consumer-runner.js';
import type { DiscoveredHandler, KafkaHandlerHost } from './kafka-runtime.module.js';

/** Topics a handler may consume: the catalog's topics (decoded values) and their DLQs (raw bytes). */
export type ConsumableTopic = TopicName | DlqTopicName;

/** What a handler of `T` receives: the topic's generated value type, or the raw bytes of a dead letter. */
export type ConsumedValue<T extends ConsumableTopic> = T extends TopicName ? TopicValue<T> : Buffer | null;

/** Options of a Kafka handler; DLQ topics must be read raw (their bytes may be why they failed). */
export type KafkaEventPatternOptions<T extends ConsumableTopic> = T extends TopicName
  ? {
      /** Consumer group suffix: handlers with the same suffix share one consumer, in group `<base>.<suffix>`. */ group?: string;
      /** The handler receives `null` for a tombstone (a null-value record; its key says what was deleted); declare the value `T | null`. */
      tombstones?: true;
    }
  : { group?: string; raw: true };

/**
 * Nest's `@EventPattern(topic)`, typed by the topic catalog: the method must accept the value type the topic carries
 * (and the RecordContext), so a handler on the wrong topic does not compile. The pattern's extras carry the consumer
 * group and raw flag to KafkaRuntimeTransport. Put it on methods of a `@KafkaHandlers()` controller.
 */
export function KafkaEventPattern<T extends ConsumableTopic>(
  topic: T,
  ...options: T extends TopicName ? [KafkaEventPatternOptions<T>?] : [KafkaEventPatternOptions<T>]
) {
  const extras = (options[0] ?? {}) as { group?: string; raw?: boolean; tombstones?: boolean };
  const pattern = EventPattern(topic, { group: extras.group, raw: extras.raw === true, tombstones: extras.tombstones === true }) as MethodDecorator;
  return <M extends (value: ConsumedValue<T>, ctx: RecordContext) => Promise<HandlerOutcome | void>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    pattern(target, key, descriptor);
  };
}

/**
 * Nest wraps handler errors for RPC callers (an unknown error becomes `{status:'error', message:'Internal server
 * error'}`). The Kafka runtime classifies the original error (retriable or not, its code for the DLQ), so this filter
 * hands it back unchanged.
 */
@Catch()
export class RethrowToKafkaRuntime implements RpcExceptionFilter<unknown> {
  catch(err: unknown): Observable<never> {
    return throwError(() => err);
  }
}

/** Marks a class as a controller of Kafka handlers (`@KafkaEventPattern` methods) whose errors reach the runtime unchanged. */
export const KafkaHandlers = (): ClassDecorator => applyDecorators(Controller(), UseFilters(RethrowToKafkaRuntime));

/**
 * The Kafka runtime as a Nest custom transport strategy (`app.connectMicroservice({ strategy })`): Nest registers the
 * service's `@EventPattern` handlers on it, and `listen` hands them to KafkaHandlerHost, which keeps the runtime's own
 * guarantees (manual contiguous-offset commits, in-flight limits, pause/resume, retries, DLQ, drain). Nest's own Kafka
 * transport gives too little control over commits, pause/resume and DLQs (ADR 0001, ADR 0005).
 */
export class KafkaRuntimeTransport extends Server implements CustomTransportStrategy {
  constructor(private readonly host: KafkaHandlerHost) {
    super();
  }

  listen(callback: (err?: unknown) => void): void {
    const handlers: DiscoveredHandler[] = [];
    for (const [topic, handler] of this.getHandlers()) {
      if (handler.next) {
        callback(new Error(`topic ${topic} has two handlers; each topic has exactly one`));
        return;
      }
      const extras = (handler.extras ?? {}) as { group?: string; raw?: boolean; tombstones?: boolean };
      handlers.push({
        topic,
        group: extras.group,
        raw: extras.raw === true,
        tombstones: extras.tombstones === true,
        handler: async (value, ctx) => {
          const out: unknown = await handler(value, ctx);
          return (isObservable(out) ? await lastValueFrom(out, { defaultValue: undefined }) : out) as HandlerOutcome | void;
        },
      });
    }
    this.host.start(handlers).then(() => callback(), callback);
  }

  async close(): Promise<void> {
    await this.host.stop();
  }

  on(): never {
    throw new Error('KafkaRuntimeTransport emits no events');
  }

  unwrap<T>(): T {
    return this.host as T;
  }
}
