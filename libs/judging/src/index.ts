export * from './lexical.js';
export * from './semantic.js';
export * from './checks.js';
export * from './scores.js';
export * from './verdict.js';
export * from './agreement.js';
export * from './squad-eval.js';
export * from './llm-judge.js';
