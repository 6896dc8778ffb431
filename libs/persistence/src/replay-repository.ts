import type pg from 'pg';
import { classifyPgError } from './postgres.js';

/** A replay's state: `running` while a process works on it, `interrupted` after a stop or a crash, then final. */
export type ReplayState = 'running' | 'interrupted' | 'completed' | 'failed';

/** One partition's range, offsets as decimal strings (int64). */
export interface StoredRange {
  partition: number;
  start: string;
  end: string;
}

/** A replay as stored (migration 011). */
export interface ReplayRow {
  replay_id: string;
  topic: string;
  request: Record<string, unknown>;
  ranges: StoredRange[];
  target: string;
  /** Next offset to read per partition. */
  positions: Record<string, string>;
  state: ReplayState;
  scanned: number;
  matched: number;
  republished: number;
  undecodable: number;
  error: string | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  finished_at: Date | null;
}

/** Counts and positions written at a checkpoint. */
export interface ReplayCheckpoint {
  positions: Record<string, string>;
  scanned: number;
  matched: number;
  republished: number;
  undecodable: number;
}

const COLUMNS = `replay_id, topic, request, ranges, target, positions, state, scanned::int, matched::int, republished::int,
  undecodable::int, error, created_at, created_by, updated_at, finished_at`;

/**
 * The `replays` table: a replay's request, ranges and checkpoint (`llmgov replay`). Errors are classified by
 * classifyPgError (connection loss is a RetriableError).
 */
export class ReplayRepository {
  constructor(private readonly pool: pg.Pool) {}

  private async run<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** Records a new replay in state `running`, positions at each range's start. */
  async create(r: {
    replayId: string;
    topic: string;
    request: Record<string, unknown>;
    ranges: StoredRange[];
    target: string;
    by: string;
  }): Promise<ReplayRow> {
    const positions = Object.fromEntries(r.ranges.map((x) => [String(x.partition), x.start]));
    const res = await this.run<ReplayRow>(
      `INSERT INTO replays (replay_id, topic, request, ranges, target, positions, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [r.replayId, r.topic, r.request, JSON.stringify(r.ranges), r.target, positions, r.by],
    );
    return res.rows[0]!;
  }

  /** The replay, or undefined. */
  async get(replayId: string): Promise<ReplayRow | undefined> {
    return (await this.run<ReplayRow>(`SELECT ${COLUMNS} FROM replays WHERE replay_id = $1`, [replayId])).rows[0];
  }

  /**
   * Claims an interrupted (or crashed `running`) replay for a resume: state back to `running`.
   * @returns false when it is already final (completed or failed).
   */
  async claim(replayId: string): Promise<boolean> {
    const res = await this.run(
      `UPDATE replays SET state = 'running', error = NULL, updated_at = now() WHERE replay_id = $1 AND state IN ('running', 'interrupted')`,
      [replayId],
    );
    return res.rowCount === 1;
  }

  /** Writes a checkpoint (the engine writes them in commit order, so positions only move forward). */
  async checkpoint(replayId: string, c: ReplayCheckpoint): Promise<void> {
    await this.run(
      `UPDATE replays SET positions = $2, scanned = $3, matched = $4, republished = $5, undecodable = $6, updated_at = now()
       WHERE replay_id = $1 AND state = 'running'`,
      [replayId, c.positions, c.scanned, c.matched, c.republished, c.undecodable],
    );
  }

  /** Ends a run: `completed` and `failed` are final; `interrupted` can be resumed. */
  async finish(replayId: string, state: Exclude<ReplayState, 'running'>, error?: string): Promise<void> {
    await this.run(
      `UPDATE replays SET state = $2, error = $3, updated_at = now(), finished_at = CASE WHEN $2 = 'interrupted' THEN NULL ELSE now() END WHERE replay_id = $1`,
      [replayId, state, error ?? null],
    );
  }
}
