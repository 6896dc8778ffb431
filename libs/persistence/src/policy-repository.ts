import type pg from 'pg';
import {
  formatTemplateRef,
  policyTemplateRefs,
  sha256OfJson,
  templateContentProblems,
  validatePolicy,
  type PolicyDocument,
  type PromptTemplateRecord,
} from '@llmgov/policy';
import { classifyPgError, inTransaction } from './postgres.js';

/** The Postgres NOTIFY channel on which every activation and rollback is announced (payload: {@link PolicyNotification}). */
export const POLICY_CHANNEL = 'llmgov_policy_activated';
/** The namespace the platform's routers read; tests and benchmarks use their own so they never change the platform's policy. */
export const DEFAULT_POLICY_NAMESPACE = 'default';
/** First key of the transaction-level advisory lock that serialises version numbering and activations per namespace. */
const POLICY_LOCK_KEY = 727275;

/** The JSON payload of a {@link POLICY_CHANNEL} notification. */
export interface PolicyNotification {
  namespace: string;
  /** The newest activation row's id (for a canary notification: the activation in force). */
  activation_id: number;
  version: number;
  action: PolicyAction | CanaryAction;
}

export type PolicyAction = 'activate' | 'rollback';
/** Canary notifications: a canary started, or ended (promoted, aborted or rolled back). */
export type CanaryAction = 'canary_start' | 'canary_end';
/** How a canary ended: made the stable version, stopped by an operator, or rolled back by the canary controller. */
export type CanaryOutcome = 'promoted' | 'aborted' | 'rolled_back';
/**
 * The kind of experiment (migration 013): a `canary` serves its share of jobs to users; a `shadow` decides a copy of
 * its share whose outcome never reaches the user (ADR 0009). A namespace has at most one open experiment of either kind.
 */
export type ExperimentMode = 'canary' | 'shadow';

/** One canary of a namespace, open (`outcome` null) or ended. */
export interface PolicyCanary {
  id: number;
  namespace: string;
  /** Canary or shadow (migration 013; rows written before it are canaries). */
  mode: ExperimentMode;
  version: number;
  /** The stable version when it started: what it was compared against. */
  stable_version: number;
  /** Share of jobs, percent (0 < percent ≤ 100), chosen by a stable hash of the job id. */
  percent: number;
  started_at: Date;
  started_by: string;
  comment: string | null;
  ended_at: Date | null;
  ended_by: string | null;
  outcome: CanaryOutcome | null;
  /** Why it ended (the controller's breach for `rolled_back`). */
  cause: string | null;
}

/** An open canary with its document and templates: what a router routes its share of jobs by. */
export interface ActiveCanary {
  canary: PolicyCanary;
  version: number;
  sha256: string;
  document: PolicyDocument;
  templates: PromptTemplateRecord[];
}

/** One stored policy version without its document. */
export interface PolicyVersionSummary {
  namespace: string;
  version: number;
  /** SHA-256 (hex) of the document's RFC 8785 canonical JSON. */
  sha256: string;
  created_at: Date;
  created_by: string;
  comment: string | null;
  /** The prompt templates stored with it, `name@version`, sorted. */
  templates: string[];
  /** Whether it is the namespace's active version. */
  active: boolean;
}

/** A stored version with its document and the content of its templates. */
export interface PolicyVersionRecord extends PolicyVersionSummary {
  document: PolicyDocument;
  template_contents: PromptTemplateRecord[];
}

/** One row of the activation history. */
export interface PolicyActivation {
  id: number;
  namespace: string;
  version: number;
  action: PolicyAction;
  /** The version that was active just before this row took effect; null for the first activation. */
  previous_version: number | null;
  activated_at: Date;
  activated_by: string;
  comment: string | null;
}

/** The active version of a namespace: what a router applies. */
export interface ActivePolicy {
  version: number;
  sha256: string;
  document: PolicyDocument;
  templates: PromptTemplateRecord[];
  /** The history row that made it active. */
  activation: PolicyActivation;
  /** The namespace's open canary, if any (optional so that hand-built values stay valid; the repository always sets it). */
  canary?: ActiveCanary | null;
  /** The namespace's open shadow, if any (same shape: `canary` is its experiment row, with `mode: 'shadow'`). */
  shadow?: ActiveCanary | null;
}

export interface ApplyPolicyInput {
  /** A validated document (it is validated again before it is stored). */
  document: PolicyDocument;
  /** The content of every template the document references, and no other. */
  templates: PromptTemplateRecord[];
  created_by: string;
  comment?: string | null;
}

export interface ApplyPolicyResult {
  version: number;
  sha256: string;
  /** False when a version with the same SHA-256 already existed: nothing was written. */
  created: boolean;
}

export interface ActivationResult {
  version: number;
  /** The version active before the call; null when none was. */
  previous_version: number | null;
  /** The history row written; null when the version was already active (nothing was written). */
  activation: PolicyActivation | null;
}

export type PolicyStoreErrorCode =
  | 'unknown_version'
  | 'no_active_version'
  | 'nothing_to_roll_back'
  | 'template_conflict'
  | 'template_mismatch'
  | 'canary_in_progress'
  | 'no_canary'
  | 'no_shadow'
  | 'invalid_canary';

/** A policy operation that cannot be done as asked; `code` says why. Nothing was written. */
export class PolicyStoreError extends Error {
  override readonly name = 'PolicyStoreError';
  constructor(
    readonly code: PolicyStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface ActivationRow {
  id: string;
  namespace: string;
  version: number;
  action: PolicyAction;
  previous_id: string | null;
  previous_version: number | null;
  activated_at: Date;
  activated_by: string;
  comment: string | null;
}

const toActivation = (r: ActivationRow): PolicyActivation => ({
  id: Number(r.id),
  namespace: r.namespace,
  version: r.version,
  action: r.action,
  previous_version: r.previous_version,
  activated_at: r.activated_at,
  activated_by: r.activated_by,
  comment: r.comment,
});

interface CanaryRow {
  id: string;
  namespace: string;
  mode: ExperimentMode;
  version: number;
  stable_version: number;
  percent: number;
  started_at: Date;
  started_by: string;
  comment: string | null;
  ended_at: Date | null;
  ended_by: string | null;
  outcome: CanaryOutcome | null;
  cause: string | null;
}

const CANARY_COLUMNS = 'id::text AS id, namespace, mode, version, stable_version, percent, started_at, started_by, comment, ended_at, ended_by, outcome, cause';
const toCanary = (r: CanaryRow): PolicyCanary => ({ ...r, id: Number(r.id) });

// ORDER BY names the table's column (`a.id`, `c.id`) wherever the output has an `id::text AS id`: an unqualified
// `ORDER BY id` sorts by the output column, as text, so '99' would come after '100'.

/** Activation rows with the version that was active before each (the version of its previous_id row, or for a rollback, of the row it replaced). */
const ACTIVATION_SELECT = `
  SELECT a.id::text AS id, a.namespace, a.version, a.action, a.previous_id::text AS previous_id,
         (SELECT b.version FROM policy_activations b WHERE b.namespace = a.namespace AND b.id < a.id ORDER BY b.id DESC LIMIT 1) AS previous_version,
         a.activated_at, a.activated_by, a.comment
    FROM policy_activations a`;

/**
 * Policy versions, their prompt templates and their activation history in Postgres (migration 007), per namespace.
 *
 * - `apply` stores a document as the next version (idempotent by SHA-256) with its templates; it does not activate it.
 * - `activate` makes a version active; `rollback` undoes the newest activation still in effect (activate v1, activate
 *   v2, rollback: v1 is active again, with v1's templates; a second rollback finds nothing left to undo).
 * - Every activation and rollback is announced with NOTIFY on {@link POLICY_CHANNEL} in the same transaction, so a
 *   {@link PolicyWatcher} hears it once it is committed.
 *
 * Writes take a transaction-level advisory lock per namespace, so concurrent applies get distinct version numbers and
 * concurrent activations are serialised. Errors: {@link PolicyStoreError} for requests that cannot be done;
 * Postgres failures are classified by classifyPgError (connection loss: RetriableError `postgres_unavailable`).
 */
export class PolicyRepository {
  constructor(
    private readonly pool: pg.Pool,
    readonly namespace: string = DEFAULT_POLICY_NAMESPACE,
  ) {}

  /**
   * Stores `document` as the next version with the given templates, unless a version with the same SHA-256 exists.
   * Templates are registered by `name@version` on first use and are immutable.
   * @throws PolicyValidationError when the document is not a valid policy.
   * @throws PolicyStoreError `template_mismatch` when the templates given are not exactly those the document
   *   references, or one's content is not the template it is given as; `template_conflict` when a `name@version` is
   *   already registered with other content.
   */
  async apply(input: ApplyPolicyInput): Promise<ApplyPolicyResult> {
    const document = validatePolicy(input.document, 'the policy document');
    const wanted = policyTemplateRefs(document).map(formatTemplateRef).sort();
    const given = input.templates.map(formatTemplateRef).sort();
    if (JSON.stringify(wanted) !== JSON.stringify(given))
      throw new PolicyStoreError('template_mismatch', `the policy references templates [${wanted.join(', ')}] but [${given.join(', ')}] were given`);
    for (const t of input.templates) {
      const problems = templateContentProblems(t, t.content);
      if (problems.length > 0) throw new PolicyStoreError('template_mismatch', `template ${formatTemplateRef(t)}: ${problems.join('; ')}`);
    }
    const sha256 = sha256OfJson(document);
    return inTransaction(this.pool, async (client) => {
      await this.lock(client);
      for (const t of input.templates) await this.registerTemplate(client, t);
      const existing = await client.query<{ version: number }>('SELECT version FROM policy_versions WHERE namespace = $1 AND sha256 = $2', [
        this.namespace,
        sha256,
      ]);
      if (existing.rows[0]) return { version: existing.rows[0].version, sha256, created: false };
      const next = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS version FROM policy_versions WHERE namespace = $1', [
        this.namespace,
      ]);
      const version = next.rows[0]!.version;
      await client.query('INSERT INTO policy_versions (namespace, version, document, sha256, created_by, comment) VALUES ($1, $2, $3, $4, $5, $6)', [
        this.namespace,
        version,
        JSON.stringify(document),
        sha256,
        input.created_by,
        input.comment ?? null,
      ]);
      for (const t of input.templates)
        await client.query('INSERT INTO policy_version_templates (namespace, policy_version, template_name, template_version) VALUES ($1, $2, $3, $4)', [
          this.namespace,
          version,
          t.name,
          t.version,
        ]);
      return { version, sha256, created: true };
    });
  }

  /**
   * Makes `version` the active version (a no-op, with `activation: null`, when it already is) and announces it.
   * @throws PolicyStoreError `unknown_version` when the namespace has no such version.
   */
  async activate(version: number, by: string, comment?: string | null): Promise<ActivationResult> {
    return inTransaction(this.pool, async (client) => {
      await this.lock(client);
      const exists = await client.query('SELECT 1 FROM policy_versions WHERE namespace = $1 AND version = $2', [this.namespace, version]);
      if (exists.rowCount === 0) throw new PolicyStoreError('unknown_version', `policy version ${version} does not exist${await this.versionsHint(client)}`);
      const current = await this.head(client);
      if (current?.version === version) return { version, previous_version: version, activation: null };
      const activation = await this.record(client, { version, action: 'activate', previousId: current?.id ?? null, by, comment });
      // A new stable version ends an open canary: promoted when it is the canary's version, aborted otherwise.
      const open = await this.openCanary(client);
      if (open)
        await this.closeCanary(client, open, activation, {
          outcome: open.version === version ? 'promoted' : 'aborted',
          by,
          cause: open.version === version ? (comment ?? `version ${version} activated`) : `superseded: version ${version} was activated`,
        });
      return { version, previous_version: current?.version ?? null, activation };
    });
  }

  /**
   * Undoes the newest activation still in effect: the version active before it becomes active again, with its
   * templates, and the history gains a `rollback` row.
   * @throws PolicyStoreError `nothing_to_roll_back` when no version is active or the active one was the first.
   */
  async rollback(by: string, comment?: string | null): Promise<ActivationResult> {
    return inTransaction(this.pool, async (client) => {
      await this.lock(client);
      const current = await this.head(client);
      if (!current) throw new PolicyStoreError('nothing_to_roll_back', 'nothing to roll back: no policy version has been activated');
      if (current.previous_id === null)
        throw new PolicyStoreError(
          'nothing_to_roll_back',
          `nothing to roll back: version ${current.version} is active and no earlier activation is in effect before it`,
        );
      const restored = await client.query<ActivationRow>(`${ACTIVATION_SELECT} WHERE a.id = $1`, [current.previous_id]);
      const target = restored.rows[0]!;
      const activation = await this.record(client, {
        version: target.version,
        action: 'rollback',
        previousId: target.previous_id === null ? null : Number(target.previous_id),
        by,
        comment,
      });
      const open = await this.openCanary(client);
      if (open) await this.closeCanary(client, open, activation, { outcome: 'aborted', by, cause: `superseded: rolled back to version ${target.version}` });
      return { version: target.version, previous_version: current.version, activation };
    });
  }

  /**
   * Starts a canary: `version` serves `percent` % of the namespace's jobs (by a stable hash of the job id) next to the
   * active (stable) version, and routers apply it within 5 s (NOTIFY `canary_start`).
   * @throws PolicyStoreError `unknown_version`; `no_active_version` when there is no stable version to compare with;
   *   `invalid_canary` when `version` is the stable one or `percent` is not in (0, 100]; `canary_in_progress` when the
   *   namespace already has an open canary (promote or abort it first).
   */
  async startCanary(version: number, percent: number, by: string, comment?: string | null, mode: ExperimentMode = 'canary'): Promise<PolicyCanary> {
    if (!Number.isFinite(percent) || percent <= 0 || percent > 100)
      throw new PolicyStoreError('invalid_canary', `the ${mode} percent must be a number in (0, 100], not ${percent}`);
    return inTransaction(this.pool, async (client) => {
      await this.lock(client);
      const exists = await client.query('SELECT 1 FROM policy_versions WHERE namespace = $1 AND version = $2', [this.namespace, version]);
      if (exists.rowCount === 0) throw new PolicyStoreError('unknown_version', `policy version ${version} does not exist${await this.versionsHint(client)}`);
      const stable = await this.head(client);
      if (!stable) throw new PolicyStoreError('no_active_version', `a ${mode} needs a stable version to run next to: activate one first`);
      if (stable.version === version) throw new PolicyStoreError('invalid_canary', `version ${version} is already the stable (active) version`);
      const open = await this.openCanary(client);
      if (open)
        throw new PolicyStoreError(
          'canary_in_progress',
          open.mode === 'shadow'
            ? `version ${open.version} is already in shadow at ${open.percent}% (since ${open.started_at.toISOString()}): one experiment per namespace; end it first (llmgov policy shadow --abort)`
            : `version ${open.version} is already in canary at ${open.percent}% (since ${open.started_at.toISOString()}): one experiment per namespace; promote or abort it first`,
        );
      const inserted = await client.query<CanaryRow>(
        `INSERT INTO policy_canaries (namespace, mode, version, stable_version, percent, started_by, comment) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${CANARY_COLUMNS}`,
        [this.namespace, mode, version, stable.version, percent, by, comment ?? null],
      );
      await this.notify(client, { namespace: this.namespace, activation_id: stable.id, version, action: 'canary_start' });
      return toCanary(inserted.rows[0]!);
    });
  }

  /**
   * Ends the open canary without promoting it: `aborted` (an operator) or `rolled_back` (the canary controller, with the
   * breach as `cause`). When `canaryId` is given, only that canary is ended (a controller acting on a canary that has
   * meanwhile ended or been replaced does nothing).
   * @returns the ended canary, or undefined when `canaryId` was given and it is no longer open.
   * @throws PolicyStoreError `no_canary` when no canary is open (and no `canaryId` was given).
   */
  async endCanary(
    outcome: 'aborted' | 'rolled_back',
    by: string,
    cause: string | null,
    canaryId?: number,
    mode: ExperimentMode = 'canary',
  ): Promise<PolicyCanary | undefined> {
    return inTransaction(this.pool, async (client) => {
      await this.lock(client);
      const open = await this.openCanary(client);
      if (!open || (canaryId !== undefined && open.id !== canaryId) || open.mode !== mode) {
        if (canaryId !== undefined) return undefined;
        const other = open ? ` (a ${open.mode} of version ${open.version} is open: llmgov policy ${open.mode} --abort ends it)` : '';
        throw new PolicyStoreError(mode === 'shadow' ? 'no_shadow' : 'no_canary', `no ${mode} is in progress${other}`);
      }
      const stable = await this.head(client);
      return this.closeCanary(client, open, stable ? { id: stable.id } : undefined, { outcome, by, cause });
    });
  }

  /**
   * Promotes the open canary: its version becomes the stable (active) version (an `activate` row in the history) and
   * the canary ends as `promoted`.
   * @throws PolicyStoreError `no_canary` when no canary is open.
   */
  async promoteCanary(by: string, comment?: string | null): Promise<ActivationResult & { canary: PolicyCanary }> {
    const open = await this.canary();
    if (!open) throw new PolicyStoreError('no_canary', 'no canary is in progress: nothing to promote');
    if (open.mode === 'shadow')
      throw new PolicyStoreError(
        'no_canary',
        `version ${open.version} is in shadow, not in canary: a shadow is ended with its report (llmgov policy shadow --abort), or its version activated`,
      );
    const result = await this.activate(open.version, by, comment ?? `promoted canary #${open.id} (${open.percent}%)`);
    const ended = (await this.canaries()).find((c) => c.id === open.id)!;
    return { ...result, canary: ended };
  }

  /**
   * Starts a shadow (ADR 0009): `version` decides a copy of `percent` % of the namespace's jobs (by the job-id hash)
   * whose outcome never reaches the user; routers apply it within 5 s. The same one-open-experiment rule and history as
   * a canary ({@link startCanary}, with its errors).
   */
  async startShadow(version: number, percent: number, by: string, comment?: string | null): Promise<PolicyCanary> {
    return this.startCanary(version, percent, by, comment, 'shadow');
  }

  /**
   * Ends the open shadow (`aborted`, with the operator's comment as cause).
   * @throws PolicyStoreError `no_shadow` when no shadow is open (also when the open experiment is a canary).
   */
  async endShadow(by: string, cause: string | null): Promise<PolicyCanary> {
    return (await this.endCanary('aborted', by, cause, undefined, 'shadow'))!;
  }

  /** The open experiment (canary or shadow) of the namespace, or undefined. */
  async canary(): Promise<PolicyCanary | undefined> {
    const rows = await this.query<CanaryRow>(`SELECT ${CANARY_COLUMNS} FROM policy_canaries WHERE namespace = $1 AND ended_at IS NULL`, [this.namespace]);
    return rows[0] ? toCanary(rows[0]) : undefined;
  }

  /** Every canary of the namespace, open or ended, oldest first. */
  async canaries(): Promise<PolicyCanary[]> {
    return (await this.query<CanaryRow>(`SELECT ${CANARY_COLUMNS} FROM policy_canaries c WHERE c.namespace = $1 ORDER BY c.id`, [this.namespace])).map(
      toCanary,
    );
  }

  /**
   * What a watcher compares to know whether to reload: the newest activation row and the open canary, as one string.
   * Undefined when no version has been activated.
   */
  async revision(): Promise<string | undefined> {
    const rows = await this.query<{ id: string; canary_id: string | null }>(
      `SELECT (SELECT a.id::text FROM policy_activations a WHERE a.namespace = $1 ORDER BY a.id DESC LIMIT 1) AS id,
              (SELECT id::text FROM policy_canaries WHERE namespace = $1 AND ended_at IS NULL) AS canary_id`,
      [this.namespace],
    );
    const row = rows[0];
    return row?.id ? `${row.id}/${row.canary_id ?? '-'}` : undefined;
  }

  /** Every version of the namespace, oldest first. */
  async list(): Promise<PolicyVersionSummary[]> {
    const active = await this.activeHead();
    const rows = await this.query<Omit<PolicyVersionSummary, 'active'>>(
      `SELECT v.namespace, v.version, v.sha256, v.created_at, v.created_by, v.comment,
              COALESCE(array_agg(t.template_name || '@' || t.template_version ORDER BY t.template_name, t.template_version)
                       FILTER (WHERE t.template_name IS NOT NULL), '{}') AS templates
         FROM policy_versions v
         LEFT JOIN policy_version_templates t ON t.namespace = v.namespace AND t.policy_version = v.version
        WHERE v.namespace = $1
        GROUP BY v.namespace, v.version
        ORDER BY v.version`,
      [this.namespace],
    );
    return rows.map((r) => ({ ...r, active: r.version === active?.version }));
  }

  /** The activation history of the namespace, oldest first. */
  async history(): Promise<PolicyActivation[]> {
    return (await this.query<ActivationRow>(`${ACTIVATION_SELECT} WHERE a.namespace = $1 ORDER BY a.id`, [this.namespace])).map(toActivation);
  }

  /**
   * One version with its document and templates; the active one when `version` is omitted.
   * @throws PolicyStoreError `unknown_version`, or `no_active_version` when `version` is omitted and none is active.
   */
  async show(version?: number): Promise<PolicyVersionRecord> {
    const active = await this.activeHead();
    const wanted = version ?? active?.version;
    if (wanted === undefined) throw new PolicyStoreError('no_active_version', 'no policy version is active (apply one, then activate it)');
    const rows = await this.query<Omit<PolicyVersionRecord, 'active' | 'templates' | 'template_contents'>>(
      'SELECT namespace, version, document, sha256, created_at, created_by, comment FROM policy_versions WHERE namespace = $1 AND version = $2',
      [this.namespace, wanted],
    );
    const row = rows[0];
    if (!row) throw new PolicyStoreError('unknown_version', `policy version ${wanted} does not exist`);
    const templates = await this.templatesOf(wanted);
    return { ...row, templates: templates.map(formatTemplateRef), template_contents: templates, active: wanted === active?.version };
  }

  /** The active version with its document and templates; undefined when none has been activated. */
  async active(): Promise<ActivePolicy | undefined> {
    const rows = await this.query<ActivationRow & { document: PolicyDocument; sha256: string }>(
      `SELECT h.*, v.document, v.sha256 FROM (${ACTIVATION_SELECT} WHERE a.namespace = $1 ORDER BY a.id DESC LIMIT 1) h
         JOIN policy_versions v ON v.namespace = h.namespace AND v.version = h.version`,
      [this.namespace],
    );
    const row = rows[0];
    if (!row) return undefined;
    const open = await this.canary();
    let experiment: ActiveCanary | null = null;
    if (open) {
      const v = await this.query<{ document: PolicyDocument; sha256: string }>(
        'SELECT document, sha256 FROM policy_versions WHERE namespace = $1 AND version = $2',
        [this.namespace, open.version],
      );
      experiment = { canary: open, version: open.version, sha256: v[0]!.sha256, document: v[0]!.document, templates: await this.templatesOf(open.version) };
    }
    const canary = experiment?.canary.mode === 'canary' ? experiment : null;
    const shadow = experiment?.canary.mode === 'shadow' ? experiment : null;
    return {
      version: row.version,
      sha256: row.sha256,
      document: row.document,
      templates: await this.templatesOf(row.version),
      activation: toActivation(row),
      canary,
      shadow,
    };
  }

  /** The newest activation row's id and version: a one-row index lookup, what a watcher polls. Undefined when none. */
  async activeHead(): Promise<{ activation_id: number; version: number } | undefined> {
    const rows = await this.query<{ id: string; version: number }>(
      'SELECT a.id::text AS id, a.version FROM policy_activations a WHERE a.namespace = $1 ORDER BY a.id DESC LIMIT 1',
      [this.namespace],
    );
    return rows[0] ? { activation_id: Number(rows[0].id), version: rows[0].version } : undefined;
  }

  private async templatesOf(version: number): Promise<PromptTemplateRecord[]> {
    return this.query<PromptTemplateRecord>(
      `SELECT p.name, p.version, p.content FROM policy_version_templates t
         JOIN prompt_templates p ON p.name = t.template_name AND p.version = t.template_version
        WHERE t.namespace = $1 AND t.policy_version = $2 ORDER BY p.name, p.version`,
      [this.namespace, version],
    );
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  private async lock(client: pg.PoolClient): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [POLICY_LOCK_KEY, this.namespace]);
  }

  private async head(client: pg.PoolClient): Promise<{ id: number; version: number; previous_id: number | null } | undefined> {
    const r = await client.query<{ id: string; version: number; previous_id: string | null }>(
      'SELECT a.id::text AS id, a.version, a.previous_id::text AS previous_id FROM policy_activations a WHERE a.namespace = $1 ORDER BY a.id DESC LIMIT 1',
      [this.namespace],
    );
    const row = r.rows[0];
    return row ? { id: Number(row.id), version: row.version, previous_id: row.previous_id === null ? null : Number(row.previous_id) } : undefined;
  }

  private async record(
    client: pg.PoolClient,
    a: { version: number; action: PolicyAction; previousId: number | null; by: string; comment?: string | null | undefined },
  ): Promise<PolicyActivation> {
    const inserted = await client.query<{ id: string }>(
      'INSERT INTO policy_activations (namespace, version, action, previous_id, activated_by, comment) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text AS id',
      [this.namespace, a.version, a.action, a.previousId, a.by, a.comment ?? null],
    );
    const id = inserted.rows[0]!.id;
    await this.notify(client, { namespace: this.namespace, activation_id: Number(id), version: a.version, action: a.action });
    const row = await client.query<ActivationRow>(`${ACTIVATION_SELECT} WHERE a.id = $1`, [id]);
    return toActivation(row.rows[0]!);
  }

  private async notify(client: pg.PoolClient, n: PolicyNotification): Promise<void> {
    await client.query('SELECT pg_notify($1, $2)', [POLICY_CHANNEL, JSON.stringify(n)]);
  }

  private async openCanary(client: pg.PoolClient): Promise<PolicyCanary | undefined> {
    const r = await client.query<CanaryRow>(`SELECT ${CANARY_COLUMNS} FROM policy_canaries WHERE namespace = $1 AND ended_at IS NULL`, [this.namespace]);
    return r.rows[0] ? toCanary(r.rows[0]) : undefined;
  }

  private async closeCanary(
    client: pg.PoolClient,
    open: PolicyCanary,
    stable: { id: number } | undefined,
    e: { outcome: CanaryOutcome; by: string; cause: string | null },
  ): Promise<PolicyCanary> {
    const r = await client.query<CanaryRow>(
      `UPDATE policy_canaries SET ended_at = now(), ended_by = $2, outcome = $3, cause = $4 WHERE id = $1 RETURNING ${CANARY_COLUMNS}`,
      [open.id, e.by, e.outcome, e.cause],
    );
    await this.notify(client, { namespace: this.namespace, activation_id: stable?.id ?? 0, version: open.version, action: 'canary_end' });
    return toCanary(r.rows[0]!);
  }

  private async registerTemplate(client: pg.PoolClient, t: PromptTemplateRecord): Promise<void> {
    const sha256 = sha256OfJson(t.content);
    await client.query('INSERT INTO prompt_templates (name, version, content, sha256) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version) DO NOTHING', [
      t.name,
      t.version,
      JSON.stringify(t.content),
      sha256,
    ]);
    const stored = await client.query<{ sha256: string }>('SELECT sha256 FROM prompt_templates WHERE name = $1 AND version = $2', [t.name, t.version]);
    if (stored.rows[0]?.sha256 !== sha256)
      throw new PolicyStoreError(
        'template_conflict',
        `template ${formatTemplateRef(t)} is already registered with other content (sha256 ${stored.rows[0]?.sha256.slice(0, 12)}…, this file ${sha256.slice(0, 12)}…): ` +
          `a released template never changes; publish it as ${t.name}@${t.version + 1}`,
      );
  }

  private async versionsHint(client: pg.PoolClient): Promise<string> {
    const r = await client.query<{ max: number | null }>('SELECT MAX(version) AS max FROM policy_versions WHERE namespace = $1', [this.namespace]);
    return r.rows[0]?.max ? ` (versions 1..${r.rows[0].max} exist)` : ' (no version has been applied)';
  }
}
