import type pg from 'pg';
import { classifyPgError, inTransaction } from './postgres.js';

/** One item of a golden set as it is added: a prompt and the answers that count as right. */
export interface GoldenItemInput {
  /** Stable identity inside the set (adding the same key twice is a no-op). */
  item_key: string;
  prompt: string;
  /** At least one. */
  expected_answers: string[];
  intent: string | null;
  tenant_id: string | null;
  route: string | null;
  source: 'squad' | 'jsonl' | 'labels';
  source_id: string | null;
  source_document_id: string | null;
}

export interface GoldenItem extends GoldenItemInput {
  id: number;
  added_in_version: number;
  added_at: Date;
}

/** One growth of a set: where the items came from. */
export interface GoldenProvenance {
  kind: 'squad' | 'jsonl' | 'labels';
  /** The file read, or for labels the labels table and its filter. */
  from: string;
  /** SHA-256 (hex) of the file read; null for labels. */
  sha256: string | null;
  /** Items offered and items actually added (new keys). */
  offered: number;
  added: number;
  at: string;
  by: string;
  /** Licence or origin note (e.g. SQuAD's CC BY-SA 4.0). */
  note?: string;
}

export interface GoldenSetSummary {
  id: number;
  name: string;
  /** Bumped on every growth that added items. */
  version: number;
  items: number;
  intents: Record<string, number>;
  provenance: GoldenProvenance[];
  created_at: Date;
  created_by: string;
  updated_at: Date;
}

export interface AddItemsResult {
  set: GoldenSetSummary;
  created: boolean;
  added: number;
  /** Items whose key was already in the set. */
  skipped: number;
}

/** A curated label that can become a golden item: a GOOD label of a judged answer, with the job's prompt. */
export interface GoodLabelCandidate {
  feedback_event_id: string;
  job_id: string;
  tenant_id: string;
  prompt: string;
  answer: string;
  route: string | null;
  labelled_at: Date;
}

/** The figures and per-item outcomes of one eval run, as stored. */
export interface EvalRunInput {
  golden_set_id: number;
  golden_version: number;
  policy_namespace: string;
  policy_version: number | null;
  pinned: boolean;
  summary: Record<string, unknown>;
  started_at: Date;
  created_by: string;
  results: {
    item_id: number;
    job_id: string | null;
    status: string;
    answer: string | null;
    exact_match: number | null;
    f1: number | null;
    verdict: string | null;
    tier: string | null;
    cost_usd: number | null;
    latency_ms: number | null;
  }[];
}

export interface EvalRunRecord {
  id: number;
  golden_set_id: number;
  golden_name: string;
  golden_version: number;
  policy_namespace: string;
  policy_version: number | null;
  pinned: boolean;
  items: number;
  summary: Record<string, unknown>;
  started_at: Date;
  finished_at: Date;
  created_by: string;
}

export type GoldenStoreErrorCode = 'unknown_golden_set' | 'golden_set_exists';

/** A golden-set operation that cannot be done as asked; nothing was written. */
export class GoldenStoreError extends Error {
  override readonly name = 'GoldenStoreError';
  constructor(
    readonly code: GoldenStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const SET_SELECT = `
  SELECT s.id::int AS id, s.name, s.version, s.provenance, s.created_at, s.created_by, s.updated_at,
         (SELECT count(*)::int FROM golden_items i WHERE i.golden_set_id = s.id) AS items,
         COALESCE((SELECT jsonb_object_agg(k, n) FROM (SELECT COALESCE(i.intent, '-') AS k, count(*)::int AS n FROM golden_items i
                    WHERE i.golden_set_id = s.id GROUP BY 1) x), '{}'::jsonb) AS intents
    FROM golden_sets s`;

const RUN_SELECT = `
  SELECT r.id::int AS id, r.golden_set_id::int AS golden_set_id, s.name AS golden_name, r.golden_version, r.policy_namespace,
         r.policy_version, r.pinned, r.items, r.summary, r.started_at, r.finished_at, r.created_by
    FROM eval_runs r JOIN golden_sets s ON s.id = r.golden_set_id`;

/**
 * Golden sets, their items and their eval runs in Postgres (migration 008).
 *
 * - `addItems` creates a set on first use (or refuses to when `create` is 'new' and it exists) and adds items by key;
 *   a growth that adds at least one item bumps the set's version and appends its provenance, in one transaction.
 * - `goodLabels` reads the feedback-labeler's curated GOOD labels with the judged answer (judged_results) and the
 *   job's prompt (jobs.request), the source of `llmgov golden add-labels`.
 * - `recordRun` stores an eval run with its per-item results; `latestRun` finds the newest run of a set version
 *   under a policy version, what a regression gate compares.
 * Errors: {@link GoldenStoreError}; Postgres failures are classified by classifyPgError.
 */
export class GoldenRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Adds `items` to the set `name` (created when missing unless `mode` is 'existing'; refused when it exists and
   * `mode` is 'new'). Items whose key is already in the set are skipped.
   * @throws GoldenStoreError `golden_set_exists` / `unknown_golden_set` as `mode` says.
   */
  async addItems(
    name: string,
    items: GoldenItemInput[],
    provenance: Omit<GoldenProvenance, 'added'>,
    mode: 'new' | 'existing' | 'any',
  ): Promise<AddItemsResult> {
    const result = await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(727276, hashtext($1))', [name]);
      const existing = await client.query<{ id: string; version: number }>('SELECT id::text AS id, version FROM golden_sets WHERE name = $1', [name]);
      let row = existing.rows[0];
      if (row && mode === 'new')
        throw new GoldenStoreError('golden_set_exists', `golden set ${name} already exists (version ${row.version}); choose another name`);
      if (!row && mode === 'existing') throw new GoldenStoreError('unknown_golden_set', `golden set ${name} does not exist (llmgov golden list)`);
      const created = !row;
      if (!row) {
        const ins = await client.query<{ id: string; version: number }>(
          'INSERT INTO golden_sets (name, version, created_by) VALUES ($1, 1, $2) RETURNING id::text AS id, version',
          [name, provenance.by],
        );
        row = ins.rows[0]!;
      }
      const nextVersion = created ? row.version : row.version + 1;
      let added = 0;
      for (const it of items) {
        const r = await client.query(
          `INSERT INTO golden_items (golden_set_id, item_key, prompt, expected_answers, intent, tenant_id, route, source, source_id, source_document_id, added_in_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (golden_set_id, item_key) DO NOTHING`,
          [row.id, it.item_key, it.prompt, it.expected_answers, it.intent, it.tenant_id, it.route, it.source, it.source_id, it.source_document_id, nextVersion],
        );
        added += r.rowCount ?? 0;
      }
      if (added > 0 || created) {
        await client.query('UPDATE golden_sets SET version = $2, provenance = provenance || $3::jsonb, updated_at = now() WHERE id = $1', [
          row.id,
          nextVersion,
          JSON.stringify([{ ...provenance, added }]),
        ]);
      }
      return { created, added, skipped: items.length - added };
    });
    return { ...result, set: await this.get(name) };
  }

  /** Every set, by name. */
  async list(): Promise<GoldenSetSummary[]> {
    return this.query<GoldenSetSummary>(`${SET_SELECT} ORDER BY s.name`, []);
  }

  /**
   * One set's summary.
   * @throws GoldenStoreError `unknown_golden_set`.
   */
  async get(name: string): Promise<GoldenSetSummary> {
    const row = (await this.query<GoldenSetSummary>(`${SET_SELECT} WHERE s.name = $1`, [name]))[0];
    if (!row) throw new GoldenStoreError('unknown_golden_set', `golden set ${name} does not exist (llmgov golden list)`);
    return row;
  }

  /** The items of a set, oldest first; at most `limit` when given. */
  async items(setId: number, limit?: number): Promise<GoldenItem[]> {
    return this.query<GoldenItem>(
      `SELECT id::int AS id, item_key, prompt, expected_answers, intent, tenant_id, route, source, source_id, source_document_id, added_in_version, added_at
         FROM golden_items WHERE golden_set_id = $1 ORDER BY id LIMIT $2`,
      [setId, limit ?? null],
    );
  }

  /**
   * GOOD labels (feedback-labeler `labels`) of judged answers (`judged_results.final_text`) with the job's prompt
   * (`jobs.request->>'prompt'`, as validated: normalised, PII masked), newest last; labels at or after `since` only,
   * of `tenant` only when given.
   * A label whose job or judged answer is not stored (yet) is not returned.
   */
  async goodLabels(since?: Date, tenant?: string): Promise<GoodLabelCandidate[]> {
    return this.query<GoodLabelCandidate>(
      `SELECT l.feedback_event_id, l.job_id, l.tenant_id, j.request->>'prompt' AS prompt, r.final_text AS answer,
              j.request->>'route' AS route, l.created_at AS labelled_at
         FROM labels l
         JOIN judged_results r ON r.job_id = l.job_id
         JOIN jobs j ON j.job_id::text = l.job_id
        WHERE l.label = 'GOOD' AND ($1::timestamptz IS NULL OR l.created_at >= $1) AND ($2::text IS NULL OR l.tenant_id = $2)
        ORDER BY l.created_at, l.feedback_event_id`,
      [since ?? null, tenant ?? null],
    );
  }

  /** Stores an eval run and its per-item results; returns the run's id. */
  async recordRun(run: EvalRunInput): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const ins = await client.query<{ id: string }>(
        `INSERT INTO eval_runs (golden_set_id, golden_version, policy_namespace, policy_version, pinned, items, summary, started_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text AS id`,
        [
          run.golden_set_id,
          run.golden_version,
          run.policy_namespace,
          run.policy_version,
          run.pinned,
          run.results.length,
          JSON.stringify(run.summary),
          run.started_at,
          run.created_by,
        ],
      );
      const id = Number(ins.rows[0]!.id);
      for (const r of run.results)
        await client.query(
          `INSERT INTO eval_results (run_id, item_id, job_id, status, answer, exact_match, f1, verdict, tier, cost_usd, latency_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [id, r.item_id, r.job_id, r.status, r.answer, r.exact_match, r.f1, r.verdict, r.tier, r.cost_usd, r.latency_ms],
        );
      return id;
    });
  }

  /** The newest run of golden set `setId` at `goldenVersion` under `policyVersion` of `namespace`; undefined when none. */
  async latestRun(setId: number, goldenVersion: number, namespace: string, policyVersion: number): Promise<EvalRunRecord | undefined> {
    return (
      await this.query<EvalRunRecord>(
        `${RUN_SELECT} WHERE r.golden_set_id = $1 AND r.golden_version = $2 AND r.policy_namespace = $3 AND r.policy_version = $4 ORDER BY r.id DESC LIMIT 1`,
        [setId, goldenVersion, namespace, policyVersion],
      )
    )[0];
  }

  /** The runs of a set, newest first (at most 50). */
  async runs(setId: number): Promise<EvalRunRecord[]> {
    return this.query<EvalRunRecord>(`${RUN_SELECT} WHERE r.golden_set_id = $1 ORDER BY r.id DESC LIMIT 50`, [setId]);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }
}
