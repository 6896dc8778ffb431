export * from './postgres.js';
export * from './redis.js';
export * from './migrate.js';
export * from './keys.js';
export * from './persistence.module.js';
export * from './tokens.js';
export * from './redis-state.js';
export * from './budgets/index.js';
