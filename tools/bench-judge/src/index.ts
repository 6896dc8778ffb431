export * from './dataset.js';
export * from './generate.js';
