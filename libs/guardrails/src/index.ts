export * from './text-screening.js';
export * from './safety-lexicon.js';
