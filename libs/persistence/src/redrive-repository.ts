import type pg from 'pg';
import { classifyPgError } from './postgres.js';

/** One DLQ record: its DLQ topic as the broker names it (namespace prefix included), partition and offset (decimal int64). */
export interface DlqRecordKey {
  dlqTopic: string;
  partition: number;
  offset: string;
}

/** A redrive's claim on one dead letter (see RedriveRepository.claim). */
export interface DlqRedriveClaim extends DlqRecordKey {
  redriveId: string;
  sourceTopic: string;
  cause: string;
  errorCode: string;
  eventId: string | null;
}

/** One redrive run as recorded in `dead_letter_redrive_runs`. */
export interface DlqRedriveRun {
  redriveId: string;
  mode: 'manual' | 'automatic';
  actor: string;
  cause: string;
  filter: Record<string, unknown>;
  reason: string;
  planned: number;
}

/** A stored run with its counts, as `llmgov dlq` and tests read it back. */
export interface DlqRedriveRunRow {
  redrive_id: string;
  mode: 'manual' | 'automatic';
  actor: string;
  cause: string;
  filter: Record<string, unknown>;
  reason: string;
  planned: number;
  published: number;
  skipped: number;
  failed: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

/** How long an unpublished claim is held for its run before another run may take it over, ms. */
export const STALE_REDRIVE_CLAIM_MS = 60_000;

async function run<T extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<pg.QueryResult<T>> {
  try {
    return await pool.query<T>(text, values);
  } catch (err) {
    throw classifyPgError(err);
  }
}

/**
 * The redrive checkpoint in Postgres (migration 010; the `RedriveCheckpointStore` of @llmgov/kafka-runtime): which
 * dead letters were republished, by which run, and the runs themselves. Errors are classified by classifyPgError
 * (RetriableError `postgres_unavailable` when Postgres is down).
 */
export class RedriveRepository {
  constructor(
    private readonly pool: pg.Pool,
    /** See {@link STALE_REDRIVE_CLAIM_MS}. */
    private readonly staleClaimMs = STALE_REDRIVE_CLAIM_MS,
  ) {}

  /** Of `keys`, those already republished, as `dlqTopic/partition/offset`. */
  async published(keys: readonly DlqRecordKey[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const r = await run<{ k: string }>(
      this.pool,
      `SELECT r.dlq_topic || '/' || r.dlq_partition || '/' || r.dlq_offset AS k
         FROM dead_letter_redrives r
         JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS q(t, p, o) ON r.dlq_topic = q.t AND r.dlq_partition = q.p AND r.dlq_offset = q.o
        WHERE r.published_at IS NOT NULL`,
      [keys.map((k) => k.dlqTopic), keys.map((k) => k.partition), keys.map((k) => k.offset)],
    );
    return new Set(r.rows.map((row) => row.k));
  }

  /**
   * Claims a dead letter for a run: inserts its row, or takes over an unpublished claim older than the stale window.
   * @returns true when the run owns the claim now; false when it is published, or claimed by a run still live.
   */
  async claim(c: DlqRedriveClaim): Promise<boolean> {
    const r = await run(
      this.pool,
      `INSERT INTO dead_letter_redrives (dlq_topic, dlq_partition, dlq_offset, redrive_id, source_topic, cause, error_code, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO UPDATE
         SET redrive_id = EXCLUDED.redrive_id, claimed_at = now()
         WHERE dead_letter_redrives.published_at IS NULL
           AND (dead_letter_redrives.redrive_id = EXCLUDED.redrive_id
                OR dead_letter_redrives.claimed_at < now() - make_interval(secs => $9::double precision / 1000))
       RETURNING 1`,
      [c.dlqTopic, c.partition, c.offset, c.redriveId, c.sourceTopic, c.cause, c.errorCode, c.eventId, this.staleClaimMs],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async markPublished(key: DlqRecordKey, redriveId: string, at: { partition: number; offset: string }): Promise<void> {
    await run(
      this.pool,
      `UPDATE dead_letter_redrives SET published_at = now(), published_partition = $5, published_offset = $6
        WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3 AND redrive_id = $4`,
      [key.dlqTopic, key.partition, key.offset, redriveId, at.partition, at.offset],
    );
  }

  async startRun(r: DlqRedriveRun): Promise<void> {
    await run(this.pool, `INSERT INTO dead_letter_redrive_runs (redrive_id, mode, actor, cause, filter, reason, planned) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      r.redriveId,
      r.mode,
      r.actor,
      r.cause,
      JSON.stringify(r.filter),
      r.reason,
      r.planned,
    ]);
  }

  async finishRun(redriveId: string, c: { published: number; skipped: number; failed: number; error: string | null }): Promise<void> {
    await run(
      this.pool,
      `UPDATE dead_letter_redrive_runs SET published = $2, skipped = $3, failed = $4, error = $5, finished_at = now() WHERE redrive_id = $1`,
      [redriveId, c.published, c.skipped, c.failed, c.error],
    );
  }

  /** The runs, newest first (at most `limit`). */
  async runs(limit = 50): Promise<DlqRedriveRunRow[]> {
    const r = await run<DlqRedriveRunRow>(this.pool, 'SELECT * FROM dead_letter_redrive_runs ORDER BY started_at DESC LIMIT $1', [limit]);
    return r.rows;
  }

  /** The dead letters a run republished: their event ids and source topic positions. */
  async publishedBy(redriveId: string): Promise<{ dlq_topic: string; dlq_partition: number; dlq_offset: string; event_id: string | null }[]> {
    const r = await run<{ dlq_topic: string; dlq_partition: number; dlq_offset: string; event_id: string | null }>(
      this.pool,
      `SELECT dlq_topic, dlq_partition, dlq_offset::text AS dlq_offset, event_id FROM dead_letter_redrives
        WHERE redrive_id = $1 AND published_at IS NOT NULL ORDER BY dlq_topic, dlq_partition, dlq_offset`,
      [redriveId],
    );
    return r.rows;
  }
}
