import type { Admin, Kafka } from 'kafkajs';
import type { AvroSerde } from '@llmgov/kafka-runtime';

/**
 * Reads every record of `topics` from the beginning up to their end offsets at call time, with a throw-away group
 * (named by the caller, inside the run's namespace so its cleanup deletes it), and hands each decoded value to `each`.
 * Called after the load, so reading competes with nothing being measured.
 */
export async function readAll(
  kafka: Kafka,
  admin: Admin,
  serde: AvroSerde,
  groupId: string,
  topics: string[],
  each: (topic: string, value: unknown, timestamp: number) => void,
): Promise<void> {
  const remaining = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}:${p.partition}`, BigInt(p.high));
  }
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const k = `${batch.topic}:${batch.partition}`;
              try {
                each(batch.topic, await serde.decode(m.value), Number(m.timestamp));
              } catch {
                // not one of ours (e.g. a probe's raw bytes): skipped
              }
              const end = remaining.get(k);
              if (end !== undefined && BigInt(m.offset) + 1n >= end) remaining.delete(k);
            }
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Mean kafka_handler_duration_seconds per topic (all outcomes, since the service started), ms. */
export function handlerMeans(text: string): Record<string, number> {
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const m of text.matchAll(/^kafka_handler_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const topic = /topic="([^"]+)"/.exec(m[2]!)?.[1];
    if (!topic) continue;
    const into = m[1] === 'sum' ? sum : count;
    into.set(topic, (into.get(topic) ?? 0) + Number(m[3]));
  }
  return Object.fromEntries([...count].filter(([, c]) => c > 0).map(([t, c]) => [t, Math.round(((sum.get(t) ?? 0) * 1000 * 10) / c) / 10]));
}

/** A Prometheus histogram read from a /metrics text: its count, mean and bucket-interpolated quantiles. */
export interface HistogramSummary {
  count: number;
  /** Mean of the observations, in the histogram's unit × `scale`. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * Summarises histogram `name` (all label sets merged) from a Prometheus text exposition, scaled by `scale` (1000 turns
 * seconds into ms). Quantiles are interpolated linearly inside the bucket that holds them, as PromQL's
 * `histogram_quantile` does (https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile): a
 * quantile in the +Inf bucket is reported as the highest finite bound. Undefined when the histogram is absent or empty.
 */
export function histogramSummary(text: string, name: string, scale = 1): HistogramSummary | undefined {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const m of text.matchAll(new RegExp(`^${esc}_(bucket|sum|count)(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const v = Number(m[3]);
    if (m[1] === 'sum') sum += v;
    else if (m[1] === 'count') count += v;
    else {
      const le = /le="([^"]+)"/.exec(m[2] ?? '')?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + v);
    }
  }
  if (count === 0) return undefined;
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const finite = sorted.filter(([b]) => Number.isFinite(b));
  const quantile = (q: number): number => {
    const rank = q * count;
    let lowerBound = 0;
    let lowerCount = 0;
    for (const [bound, cumulative] of sorted) {
      if (cumulative >= rank) {
        if (!Number.isFinite(bound)) return (finite.at(-1)?.[0] ?? 0) * scale;
        const inBucket = cumulative - lowerCount;
        const share = inBucket > 0 ? (rank - lowerCount) / inBucket : 0;
        return (lowerBound + (bound - lowerBound) * share) * scale;
      }
      lowerBound = bound;
      lowerCount = cumulative;
    }
    return (finite.at(-1)?.[0] ?? 0) * scale;
  };
  const r = (n: number): number => Math.round(n * 1000) / 1000;
  return { count, mean: r((sum / count) * scale), p50: r(quantile(0.5)), p95: r(quantile(0.95)), p99: r(quantile(0.99)) };
}

/** Sum of counter `name` per value of label `label` (e.g. router_policy_decision_reasons_total by reason). */
export function counterBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const m of text.matchAll(new RegExp(`^${esc}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const key = new RegExp(`${label}="((?:[^"\\\\]|\\\\.)*)"`).exec(m[1]!)?.[1];
    if (key !== undefined) out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}
