export * from './squad-lookups.js';
