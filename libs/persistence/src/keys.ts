/**
 * Redis keys shared between services. One place so the writer and the reader cannot drift.
 * - `job:cancel:<job_id>`: set by the job API on cancel; router, inference-worker and judge skip the job.
 * - `cache:exact:<tenant>:<sha256>`: exact-match answer cache written by the judge, read by the router.
 * - `budget:spent:<tenant>:<YYYY-MM>`: month-to-date spend in micro-USD, written by cost-attributor, read by the router.
 */
export const RedisKeys = {
  jobCancel: (jobId: string) => `job:cancel:${jobId}`,
  exactCache: (tenantId: string, cacheKey: string) => `cache:exact:${tenantId}:${cacheKey}`,
  budgetSpent: (tenantId: string, month: string) => `budget:spent:${tenantId}:${month}`,
  /** Set once the router published its decision for a job (routed, cache hit, refused...): a redelivery is skipped. */
  jobRouted: (jobId: string) => `routed:${jobId}`,
  /** Set once a job attempt's completion and usage events were published. */
  completionDone: (jobId: string, attempt: number) => `completion:${jobId}:${attempt}`,
  /** Set once a document's chunks (for this content and embedding model) were embedded and published. */
  documentEmbedded: (tenantId: string, documentId: string, contentHash: string, modelTag: string) =>
    `embedded:${tenantId}:${documentId}:${contentHash}:${modelTag}`,
  /** Held (with a renewed TTL) by the worker instance running a job attempt. */
  inferenceLease: (jobId: string, attempt: number) => `inference:lease:${jobId}:${attempt}`,
  /**
   * A worker instance's capacity report of one tier (JSON, short TTL), and the sorted set indexing the instances that
   * report the tier (score: last report, epoch ms). `namespace` is the Kafka topic prefix: a benchmark's or test's
   * workers never feed the live routers' capacity gate. Written by the inference worker, read by routers and llmgov.
   */
  tierCapacity: (namespace: string, tier: string, instance: string) => `capacity:${namespace}tier:${tier}:${instance}`,
  tierCapacityIndex: (namespace: string, tier: string) => `capacity:${namespace}tier:${tier}`,
} as const;
