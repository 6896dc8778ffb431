export * from './logger.js';
export * from './trace-context.js';
export * from './metrics.js';
export * from './health.js';
export * from './observability.module.js';
export * from './percentile.js';
