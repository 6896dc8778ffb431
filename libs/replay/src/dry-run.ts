import { microUsdToUsd } from '@llmgov/billing';
import { estimateRecordCost, type CostBasis, type ReplayPriceCatalog, type TokenCounter } from './cost.js';
import type { ReplayIO } from './engine.js';
import { matchesFilter, recordFacts, type RecordFilter } from './filter.js';
import type { PartitionRange } from './spec.js';

/** What a replay would do, without doing it (`llmgov replay --dry-run`). */
export interface DryRunReport {
  topic: string;
  /** Records read in the ranges. */
  scanned: number;
  /** Records that pass the filter: what would be republished. */
  matched: number;
  undecodable: number;
  /** Matching records per tenant, per route (`(default)` for a null route, `(none)` for a topic without routes) and per topic. */
  by_tenant: Record<string, number>;
  by_route: Record<string, number>;
  by_topic: Record<string, number>;
  /** Broker timestamps of the first and last matching record, ISO 8601 (null when none matches). */
  first_record_at: string | null;
  last_record_at: string | null;
  /** Seconds between them. */
  span_s: number;
  /** The estimated cost of re-running the matching records (see `estimateRecordCost`). */
  cost: {
    usd: number;
    micro_usd: number;
    price_catalog_version: string;
    /** Matching records per estimate basis. */
    records_by_basis: Partial<Record<CostBasis, number>>;
    /** Matching records per catalog entry used. */
    records_by_price: Record<string, number>;
    method: string;
  };
  ranges: { partition: number; start: string; end: string }[];
}

/** How the estimate is made, as printed with it. */
export const COST_METHOD =
  'worst case per request, as the router reserves it (ADR 0007): prompt tokens (system prompt + prompt + context held by the record) counted with cl100k_base (libs/embeddings countTokens) plus max_tokens, at the model price of the price catalog when it is per token, else the catalog default API price; usage records at their own metered usage; other records 0. Retrieval the router adds is not counted. In reprocess mode, records whose effect is already done cost nothing: this is an upper bound.';

/**
 * Reads the ranges (the replay's own consumer group; nothing is published or committed) and tallies what would be
 * replayed, with its cost.
 */
export async function dryRun(opts: {
  topic: string;
  groupId: string;
  ranges: PartitionRange[];
  filter: RecordFilter;
  io: Pick<ReplayIO, 'read' | 'decode'>;
  catalog: ReplayPriceCatalog;
  countTokens: TokenCounter;
  onProgress?: (scanned: number) => void;
  signal?: AbortSignal;
}): Promise<DryRunReport> {
  const r: DryRunReport = {
    topic: opts.topic,
    scanned: 0,
    matched: 0,
    undecodable: 0,
    by_tenant: {},
    by_route: {},
    by_topic: {},
    first_record_at: null,
    last_record_at: null,
    span_s: 0,
    cost: { usd: 0, micro_usd: 0, price_catalog_version: opts.catalog.version, records_by_basis: {}, records_by_price: {}, method: COST_METHOD },
    ranges: opts.ranges.map((x) => ({ partition: x.partition, start: String(x.start), end: String(x.end) })),
  };
  let first = Infinity;
  let last = -Infinity;
  const inc = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const ends = new Map(opts.ranges.map((x) => [x.partition, x.end]));
  await opts.io.read({
    topic: opts.topic,
    groupId: opts.groupId,
    ranges: opts.ranges,
    signal: opts.signal,
    onBatch: async (partition, records) => {
      for (const rec of records) {
        if (rec.offset >= ends.get(partition)!) continue;
        r.scanned += 1;
        let value: unknown;
        try {
          value = await opts.io.decode(rec.value);
        } catch {
          r.undecodable += 1;
          continue;
        }
        const facts = recordFacts(value);
        if (!matchesFilter(facts, opts.filter)) continue;
        r.matched += 1;
        inc(r.by_tenant, facts.tenant ?? '(none)');
        const hasRoute = value !== null && typeof value === 'object' && 'route' in value;
        inc(r.by_route, hasRoute ? (facts.route ?? '(default)') : '(none)');
        inc(r.by_topic, opts.topic);
        first = Math.min(first, rec.timestamp);
        last = Math.max(last, rec.timestamp);
        const est = estimateRecordCost(value, opts.catalog, opts.countTokens);
        r.cost.micro_usd += est.microUsd;
        r.cost.records_by_basis[est.basis] = (r.cost.records_by_basis[est.basis] ?? 0) + 1;
        if (est.priceOf) inc(r.cost.records_by_price, est.priceOf);
      }
      opts.onProgress?.(r.scanned);
    },
  });
  r.cost.usd = microUsdToUsd(r.cost.micro_usd);
  if (r.matched > 0) {
    r.first_record_at = new Date(first).toISOString();
    r.last_record_at = new Date(last).toISOString();
    r.span_s = (last - first) / 1000;
  }
  return r;
}
