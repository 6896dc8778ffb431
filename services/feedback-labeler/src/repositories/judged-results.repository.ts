import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, classifyPgError, type Pool } from '@llmgov/persistence';

/** A row of `judged_results`: the join side of feedback. */
export interface JudgedResultRow {
  job_id: string;
  tenant_id: string;
  verdict: string;
  /** 0..1 */
  groundedness: number;
  final_text: string;
  model: string;
  tier: string;
  judged_at: Date;
}

/** The `judged_results` table (Postgres). Every query is parameterised. */
@Injectable()
export class JudgedResultsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Inserts or replaces the judged result of a job (idempotent by job_id). `judgedAtMs` is the event's
   * occurred_at (epoch ms); an older redelivered result never replaces a newer one.
   */
  async upsert(row: Omit<JudgedResultRow, 'judged_at'> & { judgedAtMs: number }): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO judged_results (job_id, tenant_id, verdict, groundedness, final_text, model, tier, judged_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0))
         ON CONFLICT (job_id) DO UPDATE SET verdict = EXCLUDED.verdict, groundedness = EXCLUDED.groundedness,
           final_text = EXCLUDED.final_text, model = EXCLUDED.model, tier = EXCLUDED.tier, judged_at = EXCLUDED.judged_at
         WHERE judged_results.tenant_id = EXCLUDED.tenant_id AND judged_results.judged_at <= EXCLUDED.judged_at`,
        [row.job_id, row.tenant_id, row.verdict, row.groundedness, row.final_text, row.model, row.tier, row.judgedAtMs],
      );
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  async find(jobId: string): Promise<JudgedResultRow | undefined> {
    try {
      const r = await this.pool.query<JudgedResultRow>('SELECT * FROM judged_results WHERE job_id = $1', [jobId]);
      return r.rows[0];
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
