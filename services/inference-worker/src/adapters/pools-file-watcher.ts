import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@llmgov/observability';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { loadPoolsConfig } from '../pools/pool-config.js';
import { PoolRegistry } from '../services/pool-registry.js';
import { WorkerMetrics } from '../services/worker-metrics.js';

/** Coalesces the burst of change events one save makes, ms. */
const DEBOUNCE_MS = 100;

/**
 * Re-reads the pool config file when it changes (the directory is watched, so editors that write a new file and
 * rename it over the old one are seen) or when the process gets SIGHUP. An unreadable or invalid file is logged
 * with its reasons and counted; the config in use stays.
 */
@Injectable()
export class PoolsFileWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onHup = (): void => void this.reload('SIGHUP');

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: PoolRegistry,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    const file = path.resolve(this.config.POOLS_FILE);
    try {
      this.watcher = watch(path.dirname(file), (_event, name) => {
        if (name !== null && name !== path.basename(file)) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload('file changed'), DEBOUNCE_MS);
      });
      this.watcher.on('error', (err) => this.logger.warn({ err }, 'pool config watch failed; SIGHUP still reloads'));
    } catch (err) {
      this.logger.warn({ err, file }, 'cannot watch the pool config; SIGHUP still reloads');
    }
    process.on('SIGHUP', this.onHup);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    process.off('SIGHUP', this.onHup);
  }

  /** Loads and applies the file; returns whether it was applied. */
  reload(reason: string): boolean {
    try {
      // The prompts folder is read again with it, so a template added there is picked up by the same reload.
      const next = loadPoolsConfig(this.config.POOLS_FILE, this.config.PROMPTS_DIR);
      if (JSON.stringify(next) === JSON.stringify(this.registry.config)) return false;
      this.registry.apply(next);
      this.metrics.configReloads.inc({ outcome: 'applied' });
      this.logger.info({ reason, version: next.version }, 'pool config reloaded');
      return true;
    } catch (err) {
      this.metrics.configReloads.inc({ outcome: 'rejected' });
      this.logger.error({ reason, error: (err as Error).message }, 'pool config rejected; keeping the current one');
      return false;
    }
  }
}
