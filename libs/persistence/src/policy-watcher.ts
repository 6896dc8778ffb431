import { EventEmitter } from 'node:events';
import pg from 'pg';
import { createPgPool } from './postgres.js';
import { DEFAULT_POLICY_NAMESPACE, POLICY_CHANNEL, PolicyRepository, type ActivePolicy, type PolicyNotification } from './policy-repository.js';

/** How often the watcher polls for a new activation when no notification arrives, ms (issue 10: applied within 5 s). */
export const POLICY_POLL_INTERVAL_MS = 2000;

export interface PolicyWatcherOptions {
  /** Postgres connection string (`DATABASE_URL`): the LISTEN connection is its own client. */
  connectionString: string;
  namespace?: string;
  /** Pool for the reads; one of 2 connections is created (and ended by stop) when omitted. */
  pool?: pg.Pool;
  /** Poll interval, ms (default {@link POLICY_POLL_INTERVAL_MS}). */
  pollIntervalMs?: number;
  /** False: poll only, no LISTEN (a database behind a pooler in transaction mode cannot LISTEN). Default true. */
  listen?: boolean;
  /** Called with each failure to listen, poll or load (the watcher keeps going; the last good policy stays). */
  onError?: (err: Error) => void;
}

interface PolicyWatcherEvents {
  /** A newly activated version (activation or rollback), or a canary started or ended, loaded with its document and templates. */
  change: [ActivePolicy];
}

/**
 * Follows a namespace's active policy version, so every router applies a newly activated version within 5 s:
 * - Postgres LISTEN on {@link POLICY_CHANNEL}: the repository NOTIFYs in the transaction that activates, so the watcher
 *   hears it as soon as it commits;
 * - a poll of the newest activation row every `pollIntervalMs` (2 s), the fallback for a lost notification or a
 *   dropped LISTEN connection, which the poll also re-opens.
 * Emits `change` with the loaded {@link ActivePolicy} once per new activation, and once per canary started or ended
 * (`ActivePolicy.canary`); a notification and a poll seeing the same change emit once. `current()` is the last version loaded.
 */
export class PolicyWatcher extends EventEmitter<PolicyWatcherEvents> {
  private readonly repo: PolicyRepository;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private latest: ActivePolicy | undefined;
  /** The activation and open canary of `latest` ({@link PolicyRepository.revision}). */
  private latestRevision: string | undefined;

  constructor(private readonly options: PolicyWatcherOptions) {
    super();
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? createPgPool(options.connectionString, { max: 2 });
    this.repo = new PolicyRepository(this.pool, options.namespace ?? DEFAULT_POLICY_NAMESPACE);
  }

  /** The namespace followed. */
  get namespace(): string {
    return this.repo.namespace;
  }

  /** The active version last loaded; undefined before start or while none has been activated. */
  current(): ActivePolicy | undefined {
    return this.latest;
  }

  /**
   * Starts listening and polling, and loads the active version (no `change` event for this first load).
   * @returns the active version, or undefined when none has been activated yet.
   * @throws the Postgres error when the first load fails (a router should not start without knowing its policy).
   */
  async start(): Promise<ActivePolicy | undefined> {
    if (this.timer) return this.latest; // already started
    this.stopped = false;
    if (this.options.listen !== false) await this.ensureListener().catch((err: unknown) => this.report(err));
    this.latest = await this.repo.active();
    this.latestRevision = this.latest ? revisionOf(this.latest) : undefined;
    this.timer = setInterval(() => void this.tick(), this.options.pollIntervalMs ?? POLICY_POLL_INTERVAL_MS);
    this.timer.unref();
    return this.latest;
  }

  /** Stops polling, closes the LISTEN connection (and the pool it created); waits for a load in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.connecting?.catch(() => undefined);
    await this.refreshing?.catch(() => undefined);
    await this.dropListener();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.options.listen !== false && !this.listener) await this.ensureListener().catch((err: unknown) => this.report(err));
    await this.refresh();
  }

  /** Loads the active version when the newest activation differs from the one loaded; runs once at a time, again if asked meanwhile. */
  private refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          const revision = await this.repo.revision();
          if (this.stopped || !revision || revision === this.latestRevision) continue;
          const active = await this.repo.active();
          if (this.stopped || !active || revisionOf(active) === this.latestRevision) continue;
          this.latest = active;
          this.latestRevision = revisionOf(active);
          try {
            this.emit('change', active);
          } catch (err) {
            this.report(err); // a listener's failure is its own; the watcher keeps the new version and goes on
          }
        } catch (err) {
          this.report(err);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private ensureListener(): Promise<void> {
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.options.connectionString, application_name: `llmgov-policy-watcher:${this.namespace}` });
      // A LISTEN connection that dies is dropped here and re-opened by the next poll.
      client.on('error', (err) => {
        this.report(err);
        if (this.listener === client) this.listener = undefined;
        void client.end().catch(() => undefined);
      });
      client.on('end', () => {
        if (this.listener !== client) return;
        this.listener = undefined;
        this.report(new Error('the LISTEN connection closed; polling until it is re-opened'));
      });
      client.on('notification', (msg) => {
        if (msg.channel !== POLICY_CHANNEL || !this.concerns(msg.payload)) return;
        void this.refresh();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${POLICY_CHANNEL}`);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
      // An activation committed while the listener was down was not heard: look now rather than at the next poll.
      void this.refresh();
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Whether a notification is about this namespace (an unreadable payload is looked into rather than ignored). */
  private concerns(payload: string | undefined): boolean {
    try {
      return (JSON.parse(payload ?? '') as PolicyNotification).namespace === this.namespace;
    } catch {
      return true;
    }
  }

  private async dropListener(): Promise<void> {
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }

  private report(err: unknown): void {
    if (this.stopped) return;
    this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The same string as {@link PolicyRepository.revision} for a loaded policy. */
const revisionOf = (p: ActivePolicy): string => `${p.activation.id}/${(p.canary ?? p.shadow)?.canary.id ?? '-'}`;
