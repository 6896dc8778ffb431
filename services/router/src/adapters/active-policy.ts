import { Inject, Injectable, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { IntentClassifier } from '@llmgov/classifier';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import { LOGGER, type Logger } from '@llmgov/observability';
import { PolicyBudgetLimits, PolicyWatcher, type ActivePolicy } from '@llmgov/persistence';
import { routesToCanary, type PolicyDocument } from '@llmgov/policy';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';
import { RouterDriftMetrics } from '../services/drift-metrics.js';
import { EMBEDDINGS_CLIENT } from '../tokens.js';

/** The policy version the router decides with, and the classifier built from its intents. */
export interface PolicySnapshot {
  version: number;
  /** SHA-256 of the version's canonical document (a snapshot is rebuilt only when it changes). */
  sha256?: string;
  document: PolicyDocument;
  /** Null when the intents' examples could not be embedded: requests are then decided without a classification. */
  classifier: IntentClassifier | null;
}

/** The open canary as the router applies it: the canary version's snapshot and its share of jobs. */
export interface CanarySnapshot {
  id: number;
  percent: number;
  snapshot: PolicySnapshot;
}

/**
 * Follows the active policy version in Postgres (`PolicyWatcher`: LISTEN/NOTIFY plus a 2 s poll, so a new activation
 * applies within 5 s) and builds the request classifier of each version by embedding its intents' examples once.
 * When a version comes into force its `budgets` become the reservation limits (PolicyBudgetLimits, ADR 0007); the poll
 * re-reads the newest activation every 2 s, so a missed notification heals and a rollback restores the older limits.
 * Before any version is activated `current()` is undefined and the router keeps its built-in tier rule.
 *
 * Canary (issue 11 §4): while a canary is open the source also holds the canary version's snapshot; `forJob(jobId)`
 * gives the canary's for the jobs whose stable hash falls under its percent (`routesToCanary`), so every retry and
 * redelivery of a job is decided by the same version. The budgets stay the stable version's.
 */
@Injectable()
export class ActivePolicySource implements OnModuleInit, OnApplicationShutdown {
  private watcher: PolicyWatcher | undefined;
  private snapshot: PolicySnapshot | undefined;
  private canarySnapshot: CanarySnapshot | undefined;
  private shadowSnapshot: CanarySnapshot | undefined;
  /** Serialises snapshot builds, so that a slow embedding of version N cannot overwrite version N+1. */
  private building: Promise<void> = Promise.resolve();

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    @Inject(EMBEDDINGS_CLIENT) private readonly embeddings: EmbeddingsClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly budgetLimits: PolicyBudgetLimits,
    @Optional() private readonly drift?: RouterDriftMetrics,
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

  /** The open canary, or undefined. */
  canary(): CanarySnapshot | undefined {
    return this.canarySnapshot;
  }

  /** The version that decides this job: the canary's when its job-id bucket falls under the canary's percent, else the stable one. */
  forJob(jobId: string): PolicySnapshot | undefined {
    const canary = this.canarySnapshot;
    if (canary && this.snapshot && routesToCanary(jobId, canary.percent)) return canary.snapshot;
    return this.snapshot;
  }

  /**
   * The open shadow when this job's hash falls under its percent (the same `routesToCanary` bucketing, so the copied
   * share is stable per job id), else undefined. The router decides a copy of such a job with it (ADR 0009).
   */
  shadowFor(jobId: string): CanarySnapshot | undefined {
    const shadow = this.shadowSnapshot;
    return shadow && this.snapshot && routesToCanary(jobId, shadow.percent) ? shadow : undefined;
  }

  /** Waits until the snapshot of the latest change is built (for tests). */
  async settled(): Promise<void> {
    await this.building;
  }

  private load(active: ActivePolicy): Promise<void> {
    this.building = this.building.then(async () => {
      const stable = await this.snapshotOf(active.version, active.sha256, active.document);
      const open = active.canary;
      const canary = open
        ? { id: open.canary.id, percent: open.canary.percent, snapshot: await this.snapshotOf(open.version, open.sha256, open.document) }
        : undefined;
      const openShadow = active.shadow;
      const shadow = openShadow
        ? {
            id: openShadow.canary.id,
            percent: openShadow.canary.percent,
            snapshot: await this.snapshotOf(openShadow.version, openShadow.sha256, openShadow.document),
          }
        : undefined;
      this.snapshot = stable;
      this.canarySnapshot = canary;
      this.shadowSnapshot = shadow;
      if (shadow)
        this.logger.info(
          { shadow: shadow.snapshot.version, stable: active.version, percent: shadow.percent, namespace: this.config.POLICY_NAMESPACE },
          'policy shadow in force',
        );
      this.drift?.configure(active.document);
      if (canary)
        this.logger.info(
          { canary: canary.snapshot.version, stable: active.version, percent: canary.percent, namespace: this.config.POLICY_NAMESPACE },
          'policy canary in force',
        );
      // The version's budgets become the reservation limits in the same step (operators' overrides still win).
      this.budgetLimits.apply({ namespace: this.config.POLICY_NAMESPACE, version: active.version, document: active.document });
      this.logger.info({ version: active.version, namespace: this.config.POLICY_NAMESPACE, classifier: stable.classifier !== null }, 'policy version in force');
    });
    return this.building;
  }

  /** The snapshot of a version: the one held when its SHA-256 is unchanged (no re-embedding), else built with its classifier. */
  private async snapshotOf(version: number, sha256: string, document: PolicyDocument): Promise<PolicySnapshot> {
    for (const held of [this.snapshot, this.canarySnapshot?.snapshot, this.shadowSnapshot?.snapshot])
      if (held && held.version === version && held.sha256 === sha256) return held;
    let classifier: IntentClassifier | null = null;
    try {
      classifier = await IntentClassifier.create(document.classifier, async (texts) => (await this.embeddings.embed(texts)).vectors);
    } catch (err) {
      this.logger.error({ version, error: (err as Error).message }, 'policy classifier could not be built; deciding without classification');
    }
    return { version, sha256, document, classifier };
  }
}
