export * from './generated/index.js';
export * from './topics.js';
export * from './schemas.js';
export * from './shadow.js';
