export * from './errors.js';
export * from './headers.js';
export * from './spec.js';
export * from './filter.js';
export * from './cost.js';
export * from './target.js';
export * from './engine.js';
export * from './dry-run.js';
