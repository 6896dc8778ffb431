export * from './figures.js';
export * from './faults.js';
export * from './collector.js';
export * from './run.js';
