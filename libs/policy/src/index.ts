export * from './schema.js';
export * from './parse.js';
export * from './slo.js';
export * from './canonical.js';
export * from './templates.js';
export * from './pricing.js';
export * from './json-schema.js';
export * from './decision.js';
