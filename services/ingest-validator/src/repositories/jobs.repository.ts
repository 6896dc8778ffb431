import { validate as validateUuid } from 'uuid';
import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, inTransaction, type Pool } from '@llmgov/persistence';
import type { JobState, JobStatusChanged } from '@llmgov/contracts';
import { canTransition } from '../services/job-lifecycle.js';

/** A row of the `jobs` table. Times are Date objects (timestamptz). */
export interface JobRow {
  job_id: string;
  tenant_id: string;
  idempotency_key: string | null;
  state: JobState;
  stage: string | null;
  /** Normalised, PII-masked request (never the raw prompt). */
  request: Record<string, unknown>;
  /** SHA-256 hex of the canonical HTTP request (requestFingerprint); null for raw-topic and older jobs. */
  request_fingerprint: string | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  created_at: Date;
  in_progress_at: Date | null;
  finalizing_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
  cancelling_at: Date | null;
  cancelled_at: Date | null;
  expired_at: Date | null;
  updated_at: Date;
}

/** Column that records when a job entered each state (created_at for validating). */
const STATE_TIME_COLUMN: Record<JobState, string> = {
  validating: 'created_at',
  in_progress: 'in_progress_at',
  finalizing: 'finalizing_at',
  completed: 'completed_at',
  failed: 'failed_at',
  expired: 'expired_at',
  cancelling: 'cancelling_at',
  cancelled: 'cancelled_at',
};

/**
 * Canonical 8-4-4-4-12 hex form of a UUID. `jobs.job_id` is a uuid column: comparing it to anything else makes
 * Postgres raise (22P02), and casting the column (`job_id::text = $1`) instead defeats its primary-key index.
 */
export const isUuid = (s: string): boolean => validateUuid(s);

/** The jobs table (Postgres). Every query is parameterised and compares `job_id` uncast, so its index is used. */
@Injectable()
export class JobsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Inserts a job in state `validating`. With an idempotency key already used by the tenant (or a job id that
   * exists), returns the existing job and `created: false` instead; the caller compares `request_fingerprint`.
   * `request` must already be normalised and PII-masked: it is stored as is.
   */
  async create(job: {
    jobId: string;
    tenantId: string;
    idempotencyKey: string | null;
    request: Record<string, unknown>;
    requestFingerprint?: string | null;
  }): Promise<{ job: JobRow; created: boolean }> {
    try {
      const inserted = await this.pool.query<JobRow>(
        `INSERT INTO jobs (job_id, tenant_id, idempotency_key, state, stage, request, request_fingerprint)
         VALUES ($1, $2, $3, 'validating', 'ingest', $4, $5)
         ON CONFLICT DO NOTHING RETURNING *`,
        [job.jobId, job.tenantId, job.idempotencyKey, job.request, job.requestFingerprint ?? null],
      );
      if (inserted.rows[0]) return { job: inserted.rows[0], created: true };
      const existing = job.idempotencyKey
        ? await this.pool.query<JobRow>('SELECT * FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2', [job.tenantId, job.idempotencyKey])
        : await this.pool.query<JobRow>('SELECT * FROM jobs WHERE job_id = $1', [job.jobId]);
      if (!existing.rows[0]) throw new Error('job insert conflicted but no existing job was found');
      return { job: existing.rows[0], created: false };
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** The tenant's job, or undefined (also for an id that is not a UUID: no job can have it). */
  async find(tenantId: string, jobId: string): Promise<JobRow | undefined> {
    if (!isUuid(jobId)) return undefined;
    try {
      const r = await this.pool.query<JobRow>('SELECT * FROM jobs WHERE job_id = $1 AND tenant_id = $2', [jobId, tenantId]);
      return r.rows[0];
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** The job with this id, whatever its tenant (internal use: the DLQ projection); undefined when absent. */
  async findById(jobId: string): Promise<JobRow | undefined> {
    try {
      const r = await this.pool.query<JobRow>('SELECT * FROM jobs WHERE job_id = $1', [jobId]);
      return r.rows[0];
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /**
   * Moves to `expired` the non-final jobs whose deadline (`created_at` + `request.budget.latency_ms`, or created_at
   * when the request has no budget) lies more than `graceMs` in the past, oldest first, at most `limit` of them.
   * @returns the expired jobs with the error stored on them (code `deadline_exceeded`).
   */
  async expireOverdue(graceMs: number, limit: number): Promise<{ job_id: string; tenant_id: string; error: { code: string; message: string } }[]> {
    try {
      const r = await this.pool.query<{ job_id: string; tenant_id: string; error: { code: string; message: string } }>(
        `WITH overdue AS (
           SELECT job_id FROM jobs
           WHERE state IN ('validating', 'in_progress', 'finalizing', 'cancelling')
             AND created_at + (COALESCE(CASE WHEN request->'budget'->>'latency_ms' ~ '^[0-9]{1,12}$'
                                             THEN (request->'budget'->>'latency_ms')::bigint END, 0) + $1) * interval '1 millisecond' < now()
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE jobs j SET state = 'expired', stage = 'sweeper', expired_at = now(), updated_at = now(),
           error = jsonb_build_object('code', 'deadline_exceeded', 'message',
             'no final state ' || ($1 / 1000)::text || ' s after the latency budget ran out (last stage: ' || COALESCE(j.stage, 'none') || ')')
         FROM overdue WHERE j.job_id = overdue.job_id
         RETURNING j.job_id::text AS job_id, j.tenant_id, j.error`,
        [graceMs, limit],
      );
      return r.rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  async delete(jobId: string): Promise<void> {
    await this.pool.query('DELETE FROM jobs WHERE job_id = $1', [jobId]).catch((err: unknown) => {
      throw classifyPgError(err);
    });
  }

  /**
   * Applies a status event if the lifecycle allows the transition (see canTransition).
   * @returns `applied`, `ignored` (not allowed from the current state, e.g. a redelivered older event), or `unknown_job`.
   */
  async applyStatus(ev: JobStatusChanged): Promise<'applied' | 'ignored' | 'unknown_job'> {
    if (!isUuid(ev.job_id)) return 'unknown_job';
    return inTransaction(this.pool, async (client) => {
      const current = await client.query<{ state: JobState }>('SELECT state FROM jobs WHERE job_id = $1 FOR UPDATE', [ev.job_id]);
      const row = current.rows[0];
      if (!row) return 'unknown_job';
      if (row.state === ev.state || !canTransition(row.state, ev.state)) return 'ignored';
      const column = STATE_TIME_COLUMN[ev.state];
      await client.query(
        `UPDATE jobs SET state = $2, stage = $3, result = COALESCE($4, result), error = COALESCE($5, error),
           ${column} = COALESCE(${column}, to_timestamp($6 / 1000.0)), last_event_at = GREATEST(last_event_at, $6), updated_at = now()
         WHERE job_id = $1`,
        [ev.job_id, ev.state, ev.stage, ev.result ?? null, ev.error ?? null, ev.occurred_at],
      );
      return 'applied';
    });
  }
}
