/**
 * What runs inside client applications: the kafkajs helper that hands failed messages to the retry service, the
 * header names it and the Kafka ingress share, and the types of a task and of its status as the API reports them.
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
} from './retryable-handler';
export { RetryHeader } from './headers';
/** Header names the service adds to every delivery (`x-retry-task-id`, `x-retry-attempt`, …), for receivers. */
export { DeliveryHeader } from '../destinations/delivery-headers';
export {
  TaskState,
  AttemptOutcome,
  allTaskStates,
  parkedStates,
  finalStates,
  type TaskStatus,
  type AttemptRecord,
  type DeadLetterReason,
} from '../domain/status';
export { DestinationType } from '../domain/destination';
export { delayTiers, delayTierNames, tierTopic, type DelayTier } from '../domain/tiers';
export type { TaskRequest, Task } from '../domain/task';
