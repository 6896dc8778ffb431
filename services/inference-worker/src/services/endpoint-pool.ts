import type { Tier } from '@llmgov/contracts';
import { poolMaxInflight, type BreakerConfig, type EndpointConfig, type PoolConfig, type SaturationConfig } from '../pools/pool-config.js';
import type { PromptTemplate } from '../pools/prompt-template.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { pickBest, type Candidate } from './endpoint-scoring.js';
import { endpointSaturation, poolSaturation, type EngineLoad } from './saturation.js';

interface EndpointState {
  cfg: EndpointConfig;
  inflight: number;
  breaker: CircuitBreaker;
  load: EngineLoad | undefined;
}

/** A slot on one endpoint, held for one call; give it back with `EndpointPool.release`. */
export interface EndpointLease {
  readonly endpoint: EndpointConfig;
  /** @internal */
  readonly state: EndpointState;
}

/** How a call ended, for the endpoint's breaker: `failure` for endpoint faults, `neutral` for the caller's. */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/** Per-endpoint view for metrics and logs. */
export interface EndpointSnapshot {
  url: string;
  inflight: number;
  breaker: BreakerState;
  saturation: number;
  /** Metrics dialect of the last scrape (`vllm`, `llamacpp`), when known. */
  dialect?: string;
}

/** How often a waiting `acquire` re-checks on its own (open circuits half-open with time), ms. */
const RECHECK_MS = 250;

/**
 * The runtime state of one tier's pool in this worker: endpoints with their own in-flight counts, breakers and
 * last scraped load. `acquire` picks the best-scoring endpoint that has a free slot and a circuit that allows a call,
 * preferring endpoints not in `exclude` (those a request already failed on), and waits while there is none.
 */
export class EndpointPool {
  private readonly endpoints = new Map<string, EndpointState>();
  private inflightTotal = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly tier: Tier,
    private cfg: PoolConfig,
    private saturationCfg: SaturationConfig,
    private breakerCfg: BreakerConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(cfg, saturationCfg, breakerCfg);
  }

  get model(): string {
    return this.cfg.model;
  }

  /** The OpenAI API the pool's engines are called through. */
  get api(): PoolConfig['api'] {
    return this.cfg.api;
  }

  /** The pool's prompt template (loaded and validated with the config). */
  get template(): PromptTemplate {
    return this.cfg.template;
  }

  /** The endpoints' configs (url, limits, metrics dialect), in file order. */
  get endpointConfigs(): EndpointConfig[] {
    return [...this.endpoints.values()].map((s) => s.cfg);
  }

  /** This worker's in-flight bound for the pool (count). */
  get maxInflight(): number {
    return poolMaxInflight(this.cfg);
  }

  get inflight(): number {
    return this.inflightTotal;
  }

  get urls(): string[] {
    return [...this.endpoints.keys()];
  }

  /**
   * Applies a (re)loaded config. Endpoints still listed keep their in-flight count, breaker and load; removed ones
   * get no new calls (their calls in flight finish); new ones start closed with no metrics (saturated until scraped).
   */
  configure(cfg: PoolConfig, saturationCfg: SaturationConfig, breakerCfg: BreakerConfig): void {
    this.cfg = cfg;
    this.saturationCfg = saturationCfg;
    this.breakerCfg = breakerCfg;
    const keep = new Set(cfg.endpoints.map((e) => e.url));
    for (const url of this.endpoints.keys()) if (!keep.has(url)) this.endpoints.delete(url);
    for (const e of cfg.endpoints) {
      const existing = this.endpoints.get(e.url);
      if (existing) existing.cfg = e;
      else this.endpoints.set(e.url, { cfg: e, inflight: 0, breaker: new CircuitBreaker(this.breakerCfg, this.now), load: undefined });
    }
    this.wake();
  }

  /** Stores a scrape of an endpoint's load (ignored for endpoints not in the pool). */
  setLoad(url: string, load: EngineLoad): void {
    const s = this.endpoints.get(url);
    if (!s) return;
    s.load = load;
    this.wake();
  }

  /** Takes a slot now, or returns undefined when no endpoint can take the call. */
  tryAcquire(exclude: ReadonlySet<string> = new Set()): EndpointLease | undefined {
    if (this.inflightTotal >= this.maxInflight) return undefined;
    const open = [...this.endpoints.values()].filter((s) => s.inflight < s.cfg.max_inflight && s.breaker.allows);
    const fresh = open.filter((s) => !exclude.has(s.cfg.url));
    const pool = fresh.length > 0 ? fresh : open;
    if (pool.length === 0) return undefined;
    const now = this.now();
    const candidates: Candidate[] = pool.map((s) => ({
      url: s.cfg.url,
      inflight: s.inflight,
      maxInflight: s.cfg.max_inflight,
      load: s.load && now - s.load.scrapedAt <= this.saturationCfg.metrics_staleness_ms ? s.load : undefined,
    }));
    const state = pool[pickBest(candidates)]!;
    if (!state.breaker.tryStart()) return undefined;
    state.inflight++;
    this.inflightTotal++;
    return { endpoint: state.cfg, state };
  }

  /**
   * Takes a slot, waiting while every endpoint is full or refused by its breaker.
   * @param deadlineMs epoch ms; resolves undefined when it passes first.
   */
  async acquire(exclude: ReadonlySet<string>, deadlineMs: number): Promise<EndpointLease | undefined> {
    for (;;) {
      const lease = this.tryAcquire(exclude);
      if (lease) return lease;
      const remaining = deadlineMs - this.now();
      if (remaining <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(remaining, RECHECK_MS));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  /** Gives a slot back and reports the call's outcome to the endpoint's breaker. */
  release(lease: EndpointLease, outcome: CallOutcome): void {
    lease.state.inflight = Math.max(0, lease.state.inflight - 1);
    this.inflightTotal = Math.max(0, this.inflightTotal - 1);
    if (outcome !== 'neutral') lease.state.breaker.record(outcome === 'success');
    this.wake();
  }

  /** Pool saturation (see poolSaturation); endpoints with an open circuit are left out. */
  saturation(): number {
    const now = this.now();
    const usable = [...this.endpoints.values()].filter((s) => s.breaker.state !== 'open');
    return poolSaturation(usable.map((s) => endpointSaturation(s.load, now, this.saturationCfg)));
  }

  snapshot(): EndpointSnapshot[] {
    const now = this.now();
    return [...this.endpoints.values()].map((s) => ({
      url: s.cfg.url,
      inflight: s.inflight,
      breaker: s.breaker.state,
      saturation: endpointSaturation(s.load, now, this.saturationCfg),
      ...(s.load?.dialect !== undefined ? { dialect: s.load.dialect } : {}),
    }));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
