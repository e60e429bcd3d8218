/**
 * Package entry point for applications: the kafkajs helper that hands failed messages to the retry service, the
 * `x-retry-*` header names, and the task and status types (sdk/). The service itself runs as processes (npm run
 * worker, api, ingress), not as a library.
 */
export * from './sdk';
