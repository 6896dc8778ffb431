export * from './eventually.js';
export * from './http.js';
export * from './jobs.js';
export * from './kafka-probes.js';
export * from './recording-publisher.js';
export * from './query-plans.js';
export * from './redis-state-doubles.js';
