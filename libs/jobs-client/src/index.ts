export * from './jobs-client.js';
