import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { IntentClassifier } from '@llmgov/classifier';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import { LOGGER, type Logger } from '@llmgov/observability';
import { createPgPool, PolicyRepository, PolicyStoreError, type Pool } from '@llmgov/persistence';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';
import { EMBEDDINGS_CLIENT } from '../tokens.js';
import type { PolicySnapshot } from './active-policy.js';

/** The request metadata key that pins a request to a policy version (`llmgov eval --policy VERSION`). */
export const PINNED_POLICY_METADATA_KEY = 'policy_version';
/** Pinned versions kept built (document and classifier), least recently used evicted: an eval compares two or three. */
const MAX_CACHED_VERSIONS = 4;

/** The outcome of a pin lookup: no pin asked, the pinned snapshot, or why the pin cannot be honoured. */
export type PinLookup = { kind: 'none' } | { kind: 'pinned'; snapshot: PolicySnapshot } | { kind: 'invalid'; reason: string };

/**
 * Policy versions pinned per request (issue 11, golden-set evals of a version that is not active): a request whose
 * metadata has `policy_version: "N"` is decided by version N of this router's namespace (POLICY_NAMESPACE) instead of
 * the active one. The version is loaded from Postgres on first use and kept built, up to 4 versions (LRU). It is
 * honoured only for versions that exist in the namespace; an unknown or malformed pin is `invalid` (the router then fails
 * the job with the reason, rather than evaluate the wrong version). A pinned version's budgets do not become the
 * reservation limits: the active version's stay in force. Separate from ActivePolicySource so the active-version
 * follower stays untouched.
 */
@Injectable()
export class PinnedPolicySource implements OnApplicationShutdown {
  private pool: Pool | undefined;
  private readonly cache = new Map<number, Promise<PolicySnapshot | undefined>>();

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    @Inject(EMBEDDINGS_CLIENT) private readonly embeddings: EmbeddingsClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }

  /**
   * The snapshot a request is pinned to by its metadata, if any.
   * @throws whatever Postgres throws while loading (classified: RetriableError when it is unavailable), so the request is retried.
   */
  async lookup(metadata: Record<string, string> | undefined): Promise<PinLookup> {
    const raw = metadata?.[PINNED_POLICY_METADATA_KEY];
    if (raw === undefined || !this.config.POLICY_ENABLED) return { kind: 'none' };
    if (!/^[1-9][0-9]{0,8}$/.test(raw))
      return { kind: 'invalid', reason: `metadata ${PINNED_POLICY_METADATA_KEY} "${raw.slice(0, 32)}" is not a version number` };
    const version = Number(raw);
    const snapshot = await this.load(version);
    if (!snapshot) return { kind: 'invalid', reason: `pinned policy version ${version} does not exist in policy namespace ${this.config.POLICY_NAMESPACE}` };
    return { kind: 'pinned', snapshot };
  }

  private load(version: number): Promise<PolicySnapshot | undefined> {
    const hit = this.cache.get(version);
    if (hit) {
      this.cache.delete(version);
      this.cache.set(version, hit);
      return hit;
    }
    const loading = this.build(version);
    this.cache.set(version, loading);
    // A failed load (Postgres down) is not cached, so the retried request tries again.
    loading.catch(() => this.cache.delete(version));
    while (this.cache.size > MAX_CACHED_VERSIONS) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }

  private async build(version: number): Promise<PolicySnapshot | undefined> {
    this.pool ??= createPgPool(this.config.DATABASE_URL, { max: 1 });
    let record;
    try {
      record = await new PolicyRepository(this.pool, this.config.POLICY_NAMESPACE).show(version);
    } catch (err) {
      if (err instanceof PolicyStoreError && err.code === 'unknown_version') {
        // Not cached as "absent" for long: drop it at once so a version applied a moment later is found.
        this.cache.delete(version);
        return undefined;
      }
      throw err;
    }
    let classifier: IntentClassifier | null = null;
    try {
      classifier = await IntentClassifier.create(record.document.classifier, async (texts) => (await this.embeddings.embed(texts)).vectors);
    } catch (err) {
      this.logger.error({ version, error: (err as Error).message }, 'pinned policy classifier could not be built; deciding without classification');
    }
    this.logger.info({ version, namespace: this.config.POLICY_NAMESPACE }, 'pinned policy version loaded');
    return { version, document: record.document, classifier };
  }
}
