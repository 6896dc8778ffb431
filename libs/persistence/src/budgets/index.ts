export * from './budget-scope.js';
export * from './budget-limits.js';
export * from './budget-reservations.js';
export * from './policy-budget-limits.js';
