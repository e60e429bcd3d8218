import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes every retry task upserts on each state change, so operators can filter in the
 * Temporal Web UI (e.g. `TaskStatus = "dead_lettered"`). The dev server registers them at start
 * (`--search-attribute Name=Type`), docker-compose registers them with `temporal operator search-attribute create`.
 */
export const TaskStatusKey = defineSearchAttributeKey('TaskStatus', SearchAttributeType.KEYWORD);
export const DestinationTypeKey = defineSearchAttributeKey('DestinationType', SearchAttributeType.KEYWORD);
export const ClientIdKey = defineSearchAttributeKey('ClientId', SearchAttributeType.KEYWORD);
export const TaskSourceKey = defineSearchAttributeKey('TaskSource', SearchAttributeType.KEYWORD);
export const AttemptKey = defineSearchAttributeKey('Attempt', SearchAttributeType.INT);
export const NextAttemptAtKey = defineSearchAttributeKey('NextAttemptAt', SearchAttributeType.DATETIME);
export const IsPriorityKey = defineSearchAttributeKey('IsPriority', SearchAttributeType.BOOL);
export const OrderingKeyKey = defineSearchAttributeKey('OrderingKey', SearchAttributeType.KEYWORD);
/** When the task was last dead-lettered (set as it parks; bulk filters `dead_lettered_after` / `_before`). */
export const DeadLetteredAtKey = defineSearchAttributeKey('DeadLetteredAt', SearchAttributeType.DATETIME);

/** Name → Temporal CLI type name, as `temporal server start-dev --search-attribute` expects. */
export const searchAttributeDefinitions = {
  TaskStatus: 'Keyword',
  DestinationType: 'Keyword',
  ClientId: 'Keyword',
  TaskSource: 'Keyword',
  Attempt: 'Int',
  NextAttemptAt: 'Datetime',
  IsPriority: 'Bool',
  OrderingKey: 'Keyword',
  DeadLetteredAt: 'Datetime',
} as const;
