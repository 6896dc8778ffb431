import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { IntentClassifier } from '@llmgov/classifier';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import { LOGGER, type Logger } from '@llmgov/observability';
import { PolicyBudgetLimits, PolicyWatcher, type ActivePolicy } from '@llmgov/persistence';
import type { PolicyDocument } from '@llmgov/policy';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';
import { EMBEDDINGS_CLIENT } from '../tokens.js';

/** The policy version the router decides with, and the classifier built from its intents. */
export interface PolicySnapshot {
  version: number;
  document: PolicyDocument;
  /** Null when the intents' examples could not be embedded: requests are then decided without a classification. */
  classifier: IntentClassifier | null;
}

/**
 * Follows the active policy version in Postgres (`PolicyWatcher`: LISTEN/NOTIFY plus a 2 s poll, so a new activation
 * applies within 5 s) and builds the request classifier of each version by embedding its intents' examples once.
 * When a version comes into force its `budgets` become the reservation limits (PolicyBudgetLimits, ADR 0007); the poll
 * re-reads the newest activation every 2 s, so a missed notification heals and a rollback restores the older limits.
 * Before any version is activated `current()` is undefined and the router keeps its built-in tier rule.
 */
@Injectable()
export class ActivePolicySource implements OnModuleInit, OnApplicationShutdown {
  private watcher: PolicyWatcher | undefined;
  private snapshot: PolicySnapshot | undefined;
  /** Serialises snapshot builds, so that a slow embedding of version N cannot overwrite version N+1. */
  private building: Promise<void> = Promise.resolve();

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    @Inject(EMBEDDINGS_CLIENT) private readonly embeddings: EmbeddingsClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly budgetLimits: PolicyBudgetLimits,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.POLICY_ENABLED) return;
    this.watcher = new PolicyWatcher({
      connectionString: this.config.DATABASE_URL,
      namespace: this.config.POLICY_NAMESPACE,
      onError: (err) => this.logger.warn({ error: err.message }, 'policy watcher: the last loaded policy stays in force'),
    });
    this.watcher.on('change', (p) => void this.load(p));
    const first = await this.watcher.start().catch((err: unknown) => {
      this.logger.warn({ error: (err as Error).message }, 'policy watcher could not start; routing with the built-in tier rule until it can');
      return undefined;
    });
    if (first) await this.load(first);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watcher?.stop();
  }

  /** The version in force, or undefined when none is active (or policies are disabled). */
  current(): PolicySnapshot | undefined {
    return this.snapshot;
  }

  /** Waits until the snapshot of the latest change is built (for tests). */
  async settled(): Promise<void> {
    await this.building;
  }

  private load(active: ActivePolicy): Promise<void> {
    this.building = this.building.then(async () => {
      let classifier: IntentClassifier | null = null;
      try {
        classifier = await IntentClassifier.create(active.document.classifier, async (texts) => (await this.embeddings.embed(texts)).vectors);
      } catch (err) {
        this.logger.error({ version: active.version, error: (err as Error).message }, 'policy classifier could not be built; deciding without classification');
      }
      this.snapshot = { version: active.version, document: active.document, classifier };
      // The version's budgets become the reservation limits in the same step (operators' overrides still win).
      this.budgetLimits.apply({ namespace: this.config.POLICY_NAMESPACE, version: active.version, document: active.document });
      this.logger.info({ version: active.version, namespace: this.config.POLICY_NAMESPACE, classifier: classifier !== null }, 'policy version in force');
    });
    return this.building;
  }
}
