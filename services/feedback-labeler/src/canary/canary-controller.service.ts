import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { LRUCache } from 'lru-cache';
import { PLATFORM_CONFIG, type PlatformConfig } from '@llmgov/config';
import type { CostRecorded, InferenceCompleted, InferenceJudged, JobStatusChanged } from '@llmgov/contracts';
import { LOGGER, PlatformMetrics, type Logger } from '@llmgov/observability';
import { createHash } from 'node:crypto';
import { PG_POOL, PolicyRepository, PolicyWatcher, ShadowSamplesRepository, type ActivePolicy, type Pool } from '@llmgov/persistence';
import { CANARY_DEFAULTS, DRIFT_DEFAULTS, DriftWindow, SlidingWindows, canarySettings, driftSettings, scoreBin, type CanarySample } from '@llmgov/policy';
import { LABELER_CONFIG, type LabelerConfig } from '../config.js';
import { assessCanary, type CanaryUnderTest } from './canary-assessment.js';
import { shadowSampleKey, type ShadowUnderTest } from './shadow-pairing.js';

/** Who the controller records as having ended a canary. */
export const CANARY_CONTROLLER_ACTOR = 'canary-controller';

/**
 * The canary controller (issue 11 §4, ADR 0009). Runs in the feedback-labeler, which already consumes the judged
 * results; it also reads completions (end-to-end latency), cost records (cost per request) and the router's template
 * answers (job status, counted as answers that did not pass), all stamped with the policy_version that decided the job. It keeps a sliding window per version (SlidingWindows, libs/policy), and every
 * `CANARY_EVAL_INTERVAL_MS` (5 s) evaluates the pure canary rule (`evaluateCanary`); on a breach it ends the canary as
 * `rolled_back` with the breach as its cause (PolicyRepository.endCanary, which NOTIFYs the routers: they send every
 * job to the stable version within 5 s), logs it and counts it in `policy_canary_rollbacks_total{metric}`.
 *
 * Only samples of the open canary's version and of the stable version it started next to count, and only from
 * events that occurred after the canary started. The window lives in memory: a restart starts it empty (the canary
 * then waits for min_samples again). Several labeler instances each see their partitions' share of the samples and
 * each may roll back; the repository ends a canary once (the second call finds it ended and does nothing).
 *
 * Judge-score drift (`policy_drift_js_divergence{dimension="judge_score"}`) is computed here too, from the judged
 * results' groundedness in tenths.
 */
@Injectable()
export class CanaryController implements OnModuleInit, OnApplicationShutdown {
  private watcher: PolicyWatcher | undefined;
  private repo: PolicyRepository | undefined;
  private timer: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | undefined;
  private readonly windows = new SlidingWindows(CANARY_DEFAULTS.window_s * 1000);
  private readonly judgeScores = new DriftWindow(DRIFT_DEFAULTS.window_s * 1000);
  private driftThreshold = DRIFT_DEFAULTS.alert_threshold;
  private underTest: (CanaryUnderTest & { id: number; startedAt: number }) | undefined;
  /** The open shadow (ADR 0009): its paired samples go to Postgres (policy_shadow_samples), not to the canary windows. */
  private shadowUnderTest: ShadowUnderTest | undefined;
  private readonly shadowSamples: ShadowSamplesRepository;
  private readonly rollbacks: Counter<'metric'>;
  /**
   * Event ids already counted, so that a redelivered or redriven record (issue 12 §4: a redrive republishes the
   * value with its event_id unchanged) is one sample, not two. The windows live in memory, so this does too: an LRU
   * (lru-cache) of the last 100 000 ids, far more events than a window holds at this platform's rates.
   */
  private readonly counted = new LRUCache<string, true>({ max: 100_000 });
  private readonly stat: Gauge<'variant' | 'statistic'>;

  constructor(
    @Inject(LABELER_CONFIG) private readonly config: LabelerConfig,
    @Inject(PLATFORM_CONFIG) private readonly platform: PlatformConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: PlatformMetrics,
  ) {
    this.shadowSamples = new ShadowSamplesRepository(this.pool);
    this.rollbacks = new Counter({
      name: 'policy_canary_rollbacks_total',
      help: 'Canaries rolled back by the canary controller, by the metric that breached (slo_p95_latency, slo_quality, p95_latency, quality, cost)',
      labelNames: ['metric'],
      registers: [metrics.registry],
    });
    this.stat = new Gauge({
      name: 'policy_canary_window',
      help: 'The canary window statistics at the last evaluation, by variant (stable, canary) and statistic (p95_latency_ms, pass_rate, cost_per_request_usd, samples)',
      labelNames: ['variant', 'statistic'],
      registers: [metrics.registry],
    });
    const judgeScores = this.judgeScores;
    const threshold = () => this.driftThreshold;
    new Gauge({
      name: 'policy_drift_js_divergence',
      help: 'Jensen-Shannon divergence (log2, 0..1) between the reference and the current window, by dimension (intent, tier, judge_score)',
      labelNames: ['dimension'],
      registers: [metrics.registry],
      collect() {
        this.set({ dimension: 'judge_score' }, judgeScores.divergence(Date.now()));
      },
    });
    new Gauge({
      name: 'policy_drift_alert',
      help: '1 when the drift of a dimension is at or above the policy’s drift.alert_threshold, else 0',
      labelNames: ['dimension'],
      registers: [metrics.registry],
      collect() {
        this.set({ dimension: 'judge_score' }, judgeScores.divergence(Date.now()) >= threshold() ? 1 : 0);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    if (!this.config.CANARY_CONTROLLER_ENABLED) return;
    this.repo = new PolicyRepository(this.pool, this.config.POLICY_NAMESPACE);
    this.watcher = new PolicyWatcher({
      connectionString: this.platform.DATABASE_URL,
      namespace: this.config.POLICY_NAMESPACE,
      pool: this.pool,
      onError: (err) => this.logger.warn({ error: err.message }, 'canary controller: policy watcher error; the last state loaded stays'),
    });
    this.watcher.on('change', (p) => this.follow(p));
    const first = await this.watcher.start().catch((err: unknown) => {
      this.logger.warn({ error: (err as Error).message }, 'canary controller: policy watcher could not start; its poll retries');
      return undefined;
    });
    if (first) this.follow(first);
    this.timer = setInterval(() => void this.tick(), this.config.CANARY_EVAL_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.evaluating?.catch(() => undefined);
    await this.watcher?.stop();
  }

  /** A completion: its end-to-end latency from validation (deadline_at − budget.latency_ms) to completion, ms. */
  observeCompleted(ev: InferenceCompleted): void {
    if (!this.firstSight(ev.event_id)) return;
    if (ev.policy_version === null) return;
    const validatedAt = ev.deadline_at - ev.budget.latency_ms;
    this.add(ev.policy_version, {
      kind: 'latency',
      at: ev.occurred_at,
      tenant: ev.tenant_id,
      route: ev.route,
      latencyMs: Math.max(0, ev.occurred_at - validatedAt),
    });
  }

  /** A judged result: PASS or not, and its groundedness; also the judge-score drift. */
  observeJudged(ev: InferenceJudged): void {
    if (!this.firstSight(ev.event_id)) return;
    this.judgeScores.observe(scoreBin(ev.groundedness), ev.occurred_at);
    if (ev.policy_version === null) return;
    this.add(ev.policy_version, {
      kind: 'judged',
      at: ev.occurred_at,
      tenant: ev.tenant_id,
      route: ev.route,
      pass: ev.verdict === 'PASS',
      groundedness: ev.groundedness,
    });
  }

  /**
   * A job the router answered itself with the route's template (the serve_template degrade step): no model ran and no
   * judge saw it, so it counts as a judged answer that did not pass, with groundedness 0 (what the router stamps on it).
   * Without this, a version that degrades everything to templates would be invisible to the quality rule.
   */
  observeStatus(ev: JobStatusChanged): void {
    if (!this.firstSight(ev.event_id)) return;
    const r = ev.result;
    if (ev.state !== 'completed' || ev.stage !== 'router' || !r || r.finish_reason !== 'template' || r.policy_version === null) return;
    this.add(r.policy_version, { kind: 'judged', at: ev.occurred_at, tenant: ev.tenant_id, route: r.route, pass: false, groundedness: 0 });
  }

  /** A cost record of a completion: the cost of one request, USD (embedding and judge costs are not the policy version's choice). */
  observeCost(ev: CostRecorded): void {
    if (!this.firstSight(ev.event_id)) return;
    if (ev.policy_version === null || ev.kind !== 'COMPLETION') return;
    this.add(ev.policy_version, { kind: 'cost', at: ev.occurred_at, costUsd: ev.cost_usd });
  }

  /** True the first time an event id is seen (and for records without one); false for a repeat. */
  private firstSight(eventId: string | undefined): boolean {
    if (typeof eventId !== 'string') return true;
    if (this.counted.has(eventId)) return false;
    this.counted.set(eventId, true);
    return true;
  }

  /**
   * Shadow pairing (ADR 0009): records a judged result of the open shadow's share — the shadow copy's or the stable
   * answer of the same job — in `policy_shadow_samples` (verdict, quality, SHA-256 of the answer), for the report.
   * @throws RetriableError when Postgres is unavailable (the record is retried).
   */
  async recordShadowJudged(ev: InferenceJudged): Promise<void> {
    const key = shadowSampleKey(ev, this.shadowUnderTest);
    if (!key) return;
    await this.shadowSamples.recordJudged(key, {
      verdict: ev.verdict,
      quality: ev.quality ?? ev.groundedness,
      groundedness: ev.groundedness,
      answerSha256: createHash('sha256').update(ev.final_text).digest('hex'),
      judgedAtMs: ev.occurred_at,
    });
  }

  /** Shadow pairing: a completion's end-to-end latency (as for the canary windows), ms. @throws RetriableError */
  async recordShadowCompleted(ev: InferenceCompleted): Promise<void> {
    const key = shadowSampleKey(ev, this.shadowUnderTest);
    if (!key) return;
    await this.shadowSamples.recordLatency(key, Math.max(0, ev.occurred_at - (ev.deadline_at - ev.budget.latency_ms)));
  }

  /** Shadow pairing: a completion's cost, USD (copies are recognised by their shadow:<job id>). @throws RetriableError */
  async recordShadowCost(ev: CostRecorded): Promise<void> {
    if (ev.kind !== 'COMPLETION') return;
    const key = shadowSampleKey(ev, this.shadowUnderTest);
    if (!key) return;
    await this.shadowSamples.recordCost(key, ev.cost_usd);
  }

  private add(version: number, sample: CanarySample): void {
    const c = this.underTest;
    if (!c || sample.at < c.startedAt || (version !== c.canaryVersion && version !== c.stableVersion)) return;
    this.windows.add(version, sample);
  }

  private follow(active: ActivePolicy): void {
    const drift = driftSettings(active.document);
    this.driftThreshold = drift.alert_threshold;
    this.judgeScores.setWindow(drift.window_s * 1000);
    const shadow = active.shadow;
    this.shadowUnderTest = shadow
      ? {
          id: shadow.canary.id,
          version: shadow.version,
          stableVersion: shadow.canary.stable_version,
          percent: shadow.canary.percent,
          startedAt: shadow.canary.started_at.getTime(),
        }
      : undefined;
    const open = active.canary;
    if (!open) {
      if (this.underTest) this.logger.info({ canary: this.underTest.canaryVersion }, 'canary controller: the canary ended');
      this.underTest = undefined;
      this.windows.clear();
      return;
    }
    if (this.underTest?.id === open.canary.id) return;
    const settings = canarySettings(open.document, active.document);
    this.windows.clear();
    this.windows.setWindow(settings.window_s * 1000);
    this.underTest = {
      id: open.canary.id,
      startedAt: open.canary.started_at.getTime(),
      stableVersion: open.canary.stable_version,
      stableDocument: active.document,
      canaryVersion: open.version,
      canaryDocument: open.document,
      settings,
    };
    this.logger.info(
      { canary: open.version, stable: open.canary.stable_version, percent: open.canary.percent, settings },
      'canary controller: watching a canary',
    );
  }

  private tick(): Promise<void> {
    this.evaluating ??= this.evaluate()
      .catch((err: unknown) => this.logger.warn({ error: (err as Error).message }, 'canary controller: evaluation failed; retried at the next interval'))
      .finally(() => {
        this.evaluating = undefined;
      });
    return this.evaluating;
  }

  /** One evaluation: the pure rule on the window, then (on a breach) the rollback. */
  private async evaluate(): Promise<void> {
    const c = this.underTest;
    if (!c || !this.repo) return;
    const now = Date.now();
    this.windows.prune(now);
    const { verdict, stable, canary } = assessCanary(this.windows, now, c);
    for (const [variant, s] of [
      ['stable', stable],
      ['canary', canary],
    ] as const) {
      this.stat.set({ variant, statistic: 'p95_latency_ms' }, s.p95LatencyMs ?? Number.NaN);
      this.stat.set({ variant, statistic: 'pass_rate' }, s.passRate ?? Number.NaN);
      this.stat.set({ variant, statistic: 'cost_per_request_usd' }, s.meanCostUsd ?? Number.NaN);
      this.stat.set({ variant, statistic: 'samples' }, s.latencySamples + s.judgedSamples + s.costSamples);
    }
    if (verdict.action === 'keep') {
      this.logger.debug({ canary: c.canaryVersion, reason: verdict.reason }, 'canary controller: canary kept');
      return;
    }
    const cause = `${verdict.metric}: ${verdict.cause} over the last ${c.settings.window_s} s`;
    const ended = await this.repo.endCanary('rolled_back', CANARY_CONTROLLER_ACTOR, cause, c.id);
    if (!ended) return; // ended meanwhile (promoted, aborted, or by another instance)
    this.rollbacks.inc({ metric: verdict.metric });
    this.logger.warn(
      { canary: c.canaryVersion, stable: c.stableVersion, namespace: this.config.POLICY_NAMESPACE, metric: verdict.metric, cause },
      'canary rolled back automatically',
    );
    this.underTest = undefined;
    this.windows.clear();
  }
}
