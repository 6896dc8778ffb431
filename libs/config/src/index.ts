export * from './load-config.js';
export * from './platform-config.js';
export * from './retrieval-config.js';
