export * from './squad.js';
export * from './workload-mix.js';
export * from './cache-workload.js';
export * from './trace-collector.js';
