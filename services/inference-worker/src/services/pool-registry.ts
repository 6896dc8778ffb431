import { Inject, Injectable } from '@nestjs/common';
import type { Tier } from '@llmgov/contracts';
import { LOGGER, type Logger } from '@llmgov/observability';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { TIERS, loadPoolsConfig, type PoolsConfig } from '../pools/pool-config.js';
import { templateId, type PromptTemplate } from '../pools/prompt-template.js';
import { EndpointPool } from './endpoint-pool.js';
import { WorkerMetrics } from './worker-metrics.js';

/** Why a routed record's named template was not rendered: the worker does not have it, or it is for another api. */
export type TemplateFallbackReason = 'unknown_template' | 'api_mismatch';

/** The template chosen for a routed record, and why the pool's own was used instead of the named one (null: it was not). */
export interface TemplateChoice {
  template: PromptTemplate;
  fallback: TemplateFallbackReason | null;
}

/** Longest part of a routed record's `prompt_template` written to a log line (characters); the rest is cut. */
const MAX_LOGGED_REF_CHARS = 200;
/**
 * Distinct (tier, template) fallbacks warned about per loaded config: a warn log each, then only the counter, so
 * records naming ever-new strings cannot grow memory or flood the log.
 */
const MAX_FALLBACK_WARNINGS = 1000;

/**
 * The three tier pools of this worker, built from the pool config file. `apply` swaps in a new config without a
 * restart; listeners (flow control) hear about it. Boot fails with a PoolsConfigError when the file is invalid.
 */
@Injectable()
export class PoolRegistry {
  private current: PoolsConfig;
  private readonly pools: Record<Tier, EndpointPool>;
  private readonly listeners: ((cfg: PoolsConfig) => void)[] = [];
  /** The loaded templates by `name@version` (a Map: a hostile reference such as `constructor` finds nothing inherited). */
  private library = new Map<string, PromptTemplate>();
  /** `tier\u0000name@version` of the policy templates rendered since the config was loaded (their info series is set). */
  private readonly rendered = new Set<string>();
  /** `tier\u0000reference` of the fallbacks already warned about since the config was loaded. */
  private readonly warned = new Set<string>();

  constructor(
    @Inject(WORKER_CONFIG) config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: WorkerMetrics,
  ) {
    this.current = loadPoolsConfig(config.POOLS_FILE, config.PROMPTS_DIR);
    const c = this.current;
    this.pools = {
      S: new EndpointPool('S', c.pools.S, c.saturation, c.circuit_breaker),
      M: new EndpointPool('M', c.pools.M, c.saturation, c.circuit_breaker),
      L: new EndpointPool('L', c.pools.L, c.saturation, c.circuit_breaker),
    };
    metrics.configVersion.set(c.version);
    this.publishTemplates();
    logger.info(
      { version: c.version, file: config.POOLS_FILE, templates: this.templates(), prompts_dir: config.PROMPTS_DIR, library: [...this.library.keys()] },
      'pool config loaded',
    );
  }

  /**
   * The template to render a routed record of `tier` with: the one the record names (`prompt_template`, `name@version`,
   * from the deciding policy version) when this worker has it and its api is the pool's; the pool's own when the record
   * names none. Otherwise the pool's own as well, counted in `inference_prompt_template_fallbacks_total{tier,reason}`
   * and warned about once per (tier, reference) and loaded config. Any string is safe as `ref` (it is only looked up in
   * a Map and cut to {@link MAX_LOGGED_REF_CHARS} characters in the log); it never becomes a metric label.
   */
  templateFor(tier: Tier, ref: string | null): TemplateChoice {
    const own = this.current.pools[tier].template;
    if (ref === null) return { template: own, fallback: null };
    const named = this.library.get(ref);
    const fallback: TemplateFallbackReason | null = named === undefined ? 'unknown_template' : named.api !== own.api ? 'api_mismatch' : null;
    if (named !== undefined && fallback === null) {
      const key = `${tier}\u0000${ref}`;
      if (ref !== templateId(own) && !this.rendered.has(key)) {
        this.rendered.add(key);
        this.metrics.promptTemplate.set({ tier, template: ref, api: named.api, source: 'policy' }, 1);
      }
      return { template: named, fallback: null };
    }
    this.metrics.promptTemplateFallbacks.inc({ tier, reason: fallback! });
    const shown = ref.length > MAX_LOGGED_REF_CHARS ? `${ref.slice(0, MAX_LOGGED_REF_CHARS)}…` : ref;
    const key = `${tier}\u0000${shown}`;
    if (!this.warned.has(key) && this.warned.size < MAX_FALLBACK_WARNINGS) {
      this.warned.add(key);
      this.logger.warn(
        {
          tier,
          prompt_template: shown,
          reason: fallback,
          rendered: templateId(own),
          ...(named ? { template_api: named.api, pool_api: own.api } : {}),
        },
        "routed record names a prompt template this worker does not render; rendering the pool's own (logged once per tier and template)",
      );
    }
    return { template: own, fallback };
  }

  /** Each tier's prompt template as `name@version`, its api and file (for logs). */
  templates(): Record<Tier, { template: string; api: string; file: string }> {
    const of = (t: Tier) => ({
      template: templateId(this.current.pools[t].template),
      api: this.current.pools[t].api,
      file: this.current.pools[t].template.file,
    });
    return { S: of('S'), M: of('M'), L: of('L') };
  }

  /**
   * `inference_prompt_template_info{tier, template, api, source="pool"}` = 1 for each pool's own template; the series of
   * older configs and the policy templates rendered under them are removed (set again when next rendered). Also
   * rebuilds the template lookup and forgets the fallbacks warned about: a reload may have added the missing template.
   */
  private publishTemplates(): void {
    this.library = new Map(Object.entries(this.current.templates));
    this.rendered.clear();
    this.warned.clear();
    this.metrics.promptTemplate.reset();
    for (const tier of TIERS) {
      const pool = this.current.pools[tier];
      this.metrics.promptTemplate.set({ tier, template: templateId(pool.template), api: pool.api, source: 'pool' }, 1);
    }
  }

  get config(): PoolsConfig {
    return this.current;
  }

  pool(tier: Tier): EndpointPool {
    return this.pools[tier];
  }

  onChange(listener: (cfg: PoolsConfig) => void): void {
    this.listeners.push(listener);
  }

  /** Applies a validated config to every pool. */
  apply(next: PoolsConfig): void {
    const previous = this.current.version;
    this.current = next;
    for (const tier of TIERS) this.pools[tier].configure(next.pools[tier], next.saturation, next.circuit_breaker);
    this.metrics.configVersion.set(next.version);
    this.publishTemplates();
    this.logger.info(
      {
        previous_version: previous,
        version: next.version,
        endpoints: Object.fromEntries(TIERS.map((t) => [t, this.pools[t].urls])),
        templates: this.templates(),
      },
      'pool config applied',
    );
    for (const l of this.listeners) l(next);
  }
}
