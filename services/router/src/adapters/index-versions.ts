import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LOGGER, type Logger } from '@llmgov/observability';
import { IndexVersionsRepository, createPgPool, type IndexVersionRecord, type Pool } from '@llmgov/persistence';
import { EmbeddingsClientCache, type EmbeddingsClient } from '@llmgov/embeddings';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';

/** How often the active index versions are re-read, ms: a swap or rollback (`llmgov reindex`) applies within about this. */
export const INDEX_VERSIONS_POLL_MS = 1_000;

/**
 * The tenants' active index versions (issue 12 §2), re-read from Postgres every second (one small query for all
 * tenants, never one per request). A tenant with an active version is searched in that version's collection, with
 * queries embedded by that version's model; the others in the configured model's shared collection. Until a swap is
 * seen the previous version serves, and it is complete: re-indexing never changes a serving collection's contents.
 * When Postgres cannot be read the last known versions stay in force.
 */
@Injectable()
export class TenantIndexVersions implements OnModuleInit, OnApplicationShutdown {
  private pool: Pool | undefined;
  private timer: NodeJS.Timeout | undefined;
  private active = new Map<string, IndexVersionRecord>();
  private readonly clients = new EmbeddingsClientCache();
  private warned = false;

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.pool = createPgPool(this.config.DATABASE_URL, { max: 1 });
    await this.reload();
    this.timer = setInterval(() => void this.reload(), INDEX_VERSIONS_POLL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pool?.end().catch(() => undefined);
  }

  /** Re-reads the active versions (also called by specs). */
  async reload(): Promise<void> {
    if (!this.pool) return;
    try {
      this.active = await new IndexVersionsRepository(this.pool).active();
      this.warned = false;
    } catch (err) {
      if (!this.warned) this.logger.warn({ err }, 'cannot read the index versions; the last known ones stay in force');
      this.warned = true;
    }
  }

  /** The tenant's active index version, if any. */
  get(tenantId: string): IndexVersionRecord | undefined {
    return this.active.get(tenantId);
  }

  /** The embeddings client of a version's model (one per distinct configuration). */
  clientFor(v: IndexVersionRecord): EmbeddingsClient {
    return this.clients.clientFor(v);
  }
}
