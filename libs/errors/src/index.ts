export * from './errors.js';
export * from './dead-letter-cause.js';
