export * from './postgres.js';
export * from './redis.js';
export * from './migrate.js';
export * from './keys.js';
export * from './persistence.module.js';
