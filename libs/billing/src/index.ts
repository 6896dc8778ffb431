export * from './billing-period.js';
export * from './micro-usd.js';
export * from './cost.js';
