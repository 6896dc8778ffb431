export * from './bootstrap.js';
export * from './processes.js';
export * from './platform.js';
export * from './proc-stats.js';
export * from './engines.js';
export * from './operator-cli.js';
export * from './tenant-policy.js';
