export * from './semantic-cache.js';
