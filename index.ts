/**
 * Package entry point for applications: the kafkajs helper that hands failed messages to the retry service, and the
 * header names and message parser of the Kafka ingress.
 */
export {
  retryableHandler,
  retryableHandlerDefaults,
  HandOffError,
  type RetryableHandlerOptions,
  type HandOffBackoff,
  type RedeliveryPolicy,
  type HandOffEvent,
  type GiveUpEvent,
} from './ingress/retryable-handler';
export { RetryHeader } from './ingress/headers';
export {
  parseIngressMessage,
  MalformedMessage,
  MessageForm,
  ingressDefaults,
  type IngressDefaults,
  type IngressRecord,
  type ParseResult,
} from './ingress/parse-message';
export {
  createIngress,
  ingressOptionsFromConfig,
  IngressResult,
  type Ingress,
  type IngressOptions,
} from './ingress/consumer';
export { delayTiers, delayTierNames, tierTopic, type DelayTier } from './domain/tiers';
export type { TaskRequest, Task } from './domain/task';
