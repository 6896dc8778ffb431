import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry plus the metrics the Kafka runtime records.
 * Labels are low-cardinality (topic, outcome, partition); never ids.
 */
export class PlatformMetrics {
  readonly registry = new Registry();

  /** Records consumed, by topic and outcome (`success`, `skipped`, `retried`, `dlq`). */
  readonly messagesConsumed: Counter<'topic' | 'outcome'>;
  /** Records produced, by topic. */
  readonly messagesProduced: Counter<'topic'>;
  /** Handler wall time in seconds, by topic and outcome. */
  readonly handlerDuration: Histogram<'topic' | 'outcome'>;
  /** Consumer lag in records (high watermark minus next offset) at the last fetched batch. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** Partitions this instance has paused for flow control. */
  readonly pausedPartitions: Gauge<'topic'>;
  /** Dead letters republished to their source topic, by source topic, cause class and mode (`manual`, `automatic`). */
  readonly deadLettersRedriven: Counter<'topic' | 'cause' | 'mode'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.messagesConsumed = new Counter({
      name: 'kafka_messages_consumed_total',
      help: 'Kafka records consumed, by topic and outcome',
      labelNames: ['topic', 'outcome'],
      registers: [this.registry],
    });
    this.messagesProduced = new Counter({
      name: 'kafka_messages_produced_total',
      help: 'Kafka records produced, by topic',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    this.handlerDuration = new Histogram({
      name: 'kafka_handler_duration_seconds',
      help: 'Time spent in a record handler, including retries, in seconds',
      labelNames: ['topic', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.consumerLag = new Gauge({
      name: 'kafka_consumer_lag',
      help: 'Records between the partition high watermark and the next offset to consume',
      labelNames: ['topic', 'partition'],
      registers: [this.registry],
    });
    this.pausedPartitions = new Gauge({
      name: 'kafka_paused_partitions',
      help: 'Partitions currently paused by this instance',
      labelNames: ['topic'],
      registers: [this.registry],
    });
    this.deadLettersRedriven = new Counter({
      name: 'kafka_dead_letters_redriven_total',
      help: 'Dead letters republished to their source topic, by source topic, cause class and mode (manual, automatic)',
      labelNames: ['topic', 'cause', 'mode'],
      registers: [this.registry],
    });
  }

  /** Prometheus text exposition of every metric in the registry. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
