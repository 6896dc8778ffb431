import type pg from 'pg';
import { classifyPgError } from './postgres.js';

/** Which answer of a paired job a sample is: the user's (stable version) or the shadow copy's. */
export type ShadowVariant = 'stable' | 'shadow';

/** The key of one sample: the experiment (a `policy_canaries` row of mode shadow), the user's job id and the variant. */
export interface ShadowSampleKey {
  experimentId: number;
  /** The user's job id (for the shadow copy, the id behind `shadow:<job id>`). */
  jobId: string;
  variant: ShadowVariant;
  policyVersion: number;
}

/** Per-version figures of a shadow report. */
export interface ShadowVariantFigures {
  variant: ShadowVariant;
  policy_version: number;
  /** Jobs with a judged answer of this variant. */
  samples: number;
  /** Mean judged quality (0..1); null without a judged sample. */
  mean_quality: number | null;
  /** Share of judged answers with verdict PASS (0..1); null without a judged sample. */
  pass_rate: number | null;
  /** Mean completion cost per request, USD; null without a cost sample. */
  cost_per_request_usd: number | null;
  cost_samples: number;
  /** p95 end-to-end latency (validation to completion), ms, by nearest rank (percentile_disc); null without a sample. */
  p95_latency_ms: number | null;
  latency_samples: number;
}

/** A shadow's report: both versions' figures and how the paired answers compare. */
export interface ShadowReport {
  experiment_id: number;
  stable: ShadowVariantFigures;
  shadow: ShadowVariantFigures;
  /** Jobs for which both variants have a judged answer. */
  paired: number;
  /** Paired jobs whose answer texts differ (SHA-256 of the released text). */
  paired_differ: number;
  /** Paired jobs whose verdicts differ. */
  paired_verdict_differ: number;
}

/**
 * The paired samples of shadow runs (`policy_shadow_samples`, migration 013): what the feedback-labeler records from
 * judged, completed and cost records of the jobs under a shadow's share, and what `llmgov policy shadow-report` reads.
 * Every write is an upsert of its own columns, so events may arrive in any order and redeliveries change nothing.
 * Errors: Postgres failures classified by classifyPgError (connection loss: RetriableError `postgres_unavailable`).
 */
export class ShadowSamplesRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Records a verdict; an older redelivered verdict (by `judgedAtMs`, epoch ms) never replaces a newer one. */
  async recordJudged(
    k: ShadowSampleKey,
    j: { verdict: string; quality: number; groundedness: number; answerSha256: string; judgedAtMs: number },
  ): Promise<void> {
    await this.exec(
      `INSERT INTO policy_shadow_samples (experiment_id, job_id, variant, policy_version, verdict, quality, groundedness, answer_sha256, judged_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0))
       ON CONFLICT (experiment_id, job_id, variant) DO UPDATE SET verdict = EXCLUDED.verdict, quality = EXCLUDED.quality,
         groundedness = EXCLUDED.groundedness, answer_sha256 = EXCLUDED.answer_sha256, judged_at = EXCLUDED.judged_at, updated_at = now()
       WHERE policy_shadow_samples.judged_at IS NULL OR policy_shadow_samples.judged_at <= EXCLUDED.judged_at`,
      [k.experimentId, k.jobId, k.variant, k.policyVersion, j.verdict, j.quality, j.groundedness, j.answerSha256, j.judgedAtMs],
    );
  }

  /** Records the end-to-end latency of a completion, ms (the last completion of the job wins). */
  async recordLatency(k: ShadowSampleKey, latencyMs: number): Promise<void> {
    await this.exec(
      `INSERT INTO policy_shadow_samples (experiment_id, job_id, variant, policy_version, latency_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (experiment_id, job_id, variant) DO UPDATE SET latency_ms = EXCLUDED.latency_ms, updated_at = now()`,
      [k.experimentId, k.jobId, k.variant, k.policyVersion, latencyMs],
    );
  }

  /** Records the cost of a completion, USD (the last attempt billed wins). */
  async recordCost(k: ShadowSampleKey, costUsd: number): Promise<void> {
    await this.exec(
      `INSERT INTO policy_shadow_samples (experiment_id, job_id, variant, policy_version, cost_usd) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (experiment_id, job_id, variant) DO UPDATE SET cost_usd = EXCLUDED.cost_usd, updated_at = now()`,
      [k.experimentId, k.jobId, k.variant, k.policyVersion, costUsd],
    );
  }

  /**
   * The report of one shadow: per variant, judged samples, mean quality, PASS rate, cost per request and p95 latency;
   * and over the jobs judged on both sides, how many answers (and verdicts) differ.
   */
  async report(experiment: { id: number; version: number; stable_version: number }): Promise<ShadowReport> {
    const rows = await this.query<{
      variant: ShadowVariant;
      samples: number;
      mean_quality: number | null;
      pass_rate: number | null;
      cost_per_request_usd: number | null;
      cost_samples: number;
      p95_latency_ms: number | null;
      latency_samples: number;
    }>(
      `SELECT variant,
              COUNT(verdict)::int AS samples,
              AVG(quality) FILTER (WHERE verdict IS NOT NULL) AS mean_quality,
              AVG(CASE WHEN verdict = 'PASS' THEN 1.0 ELSE 0.0 END) FILTER (WHERE verdict IS NOT NULL)::float8 AS pass_rate,
              AVG(cost_usd) AS cost_per_request_usd,
              COUNT(cost_usd)::int AS cost_samples,
              percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
              COUNT(latency_ms)::int AS latency_samples
         FROM policy_shadow_samples WHERE experiment_id = $1 GROUP BY variant`,
      [experiment.id],
    );
    const paired = await this.query<{ paired: number; differ: number; verdict_differ: number }>(
      `SELECT COUNT(*)::int AS paired,
              COUNT(*) FILTER (WHERE s.answer_sha256 IS DISTINCT FROM h.answer_sha256)::int AS differ,
              COUNT(*) FILTER (WHERE s.verdict IS DISTINCT FROM h.verdict)::int AS verdict_differ
         FROM policy_shadow_samples s
         JOIN policy_shadow_samples h ON h.experiment_id = s.experiment_id AND h.job_id = s.job_id AND h.variant = 'shadow'
        WHERE s.experiment_id = $1 AND s.variant = 'stable' AND s.verdict IS NOT NULL AND h.verdict IS NOT NULL`,
      [experiment.id],
    );
    const figures = (variant: ShadowVariant, version: number): ShadowVariantFigures => {
      const r = rows.find((x) => x.variant === variant);
      return {
        variant,
        policy_version: version,
        samples: r?.samples ?? 0,
        mean_quality: r?.mean_quality ?? null,
        pass_rate: r?.pass_rate ?? null,
        cost_per_request_usd: r?.cost_per_request_usd ?? null,
        cost_samples: r?.cost_samples ?? 0,
        p95_latency_ms: r?.p95_latency_ms ?? null,
        latency_samples: r?.latency_samples ?? 0,
      };
    };
    const p = paired[0] ?? { paired: 0, differ: 0, verdict_differ: 0 };
    return {
      experiment_id: experiment.id,
      stable: figures('stable', experiment.stable_version),
      shadow: figures('shadow', experiment.version),
      paired: p.paired,
      paired_differ: p.differ,
      paired_verdict_differ: p.verdict_differ,
    };
  }

  private async exec(sql: string, params: unknown[]): Promise<void> {
    await this.query(sql, params);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
