export * from './text-screening.js';
