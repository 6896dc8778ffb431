export * from './eventually.js';
export * from './kafka-probes.js';
