/**
 * Every Kafka header the retry service reads or writes, in one place. Names are lower-case; values are UTF-8 text.
 *
 * - Request headers (`retry-*` before the dead-letter ones) steer a message on the retry-request topic (raw form) or a
 *   delay-tier topic; the ingress strips them before delivery and carries every other header over to the target.
 * - Ingress dead-letter headers are added to a malformed message when it is copied to INGRESS_DLQ_TOPIC.
 * - Hand-off headers are written by {@link retryableHandler} on the message the retry service delivers back.
 */
export const RetryHeader = {
  // --- request headers (raw form and tier topics) ---
  /** Idempotency key: becomes the task id (= workflow id). Without it: `kafka-<topic>-<partition>-<offset>`. */
  MessageId: 'retry-message-id',
  /** Kafka target topic, on the ingress cluster (KAFKA_BROKERS). Required on tier topics. */
  TargetTopic: 'retry-target-topic',
  /** HTTP(S) target URL (raw form only), instead of a target topic. */
  TargetUrl: 'retry-target-url',
  /** Exact time of the first delivery: ISO 8601 with offset, or epoch milliseconds. */
  ProcessAt: 'retry-process-at',
  /** First wait as a tier name (`5s` … `5d`), raw form only (tier topics imply their tier). */
  DelayTier: 'retry-delay-tier',
  /** Delivery retries after the first attempt (integer). */
  MaxRetries: 'retry-max-retries',
  /** Base of the exponential delivery backoff, seconds. */
  BaseDelay: 'retry-base-delay',
  /** Cap on any single wait, seconds. */
  MaxDelay: 'retry-max-delay',
  /** Dead-letter topic (same cluster) for a message whose deliveries are exhausted. */
  DeadTopic: 'retry-dead-topic',
  /** Dead-letter URL, instead of a dead-letter topic. */
  DeadUrl: 'retry-dead-url',
  /** Client id recorded on the task (search attribute `ClientId`). */
  ClientId: 'retry-client-id',
  /** Source recorded on the task (search attribute `TaskSource`); default `kafka:<topic>`. */
  Source: 'retry-source',
  /** `true` to give the task priority. */
  Priority: 'retry-priority',
  /** Ordering key: tasks sharing it are attempted one at a time, in offset order within a partition. */
  OrderingKey: 'retry-ordering-key',
  /** With an ordering key: `continue` (default) or `block`, what a dead-lettered task does to its key. */
  OnDeadLetter: 'retry-on-dead-letter',

  // --- ingress dead-letter headers ---
  /** Why the ingress refused the message. */
  IngressError: 'retry-ingress-error',
  /** The offending field, when one is known (e.g. `destination.topic`). */
  IngressErrorField: 'retry-ingress-error-field',
  IngressTopic: 'retry-ingress-topic',
  IngressPartition: 'retry-ingress-partition',
  IngressOffset: 'retry-ingress-offset',

  // --- hand-off headers (retryableHandler) ---
  /** How many times the application already handed this message off (1 on the first redelivery). */
  Attempt: 'retry-attempt',
  /** The error message of the application's last failure (truncated to 1,000 characters). */
  LastError: 'retry-last-error',
  /** Where the message was first consumed: `<topic>/<partition>/<offset>`. */
  Origin: 'retry-origin',
} as const;
export type RetryHeader = (typeof RetryHeader)[keyof typeof RetryHeader];

/** The request headers; they steer the ingress and are not delivered. */
export const requestHeaderNames: readonly string[] = [
  RetryHeader.MessageId,
  RetryHeader.TargetTopic,
  RetryHeader.TargetUrl,
  RetryHeader.ProcessAt,
  RetryHeader.DelayTier,
  RetryHeader.MaxRetries,
  RetryHeader.BaseDelay,
  RetryHeader.MaxDelay,
  RetryHeader.DeadTopic,
  RetryHeader.DeadUrl,
  RetryHeader.ClientId,
  RetryHeader.Source,
  RetryHeader.Priority,
  RetryHeader.OrderingKey,
  RetryHeader.OnDeadLetter,
];

/** kafkajs header values: Buffer or string, possibly repeated. */
export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type KafkaHeaders = Record<string, KafkaHeaderValue>;

/** A header's value as text (the last one when repeated), or undefined when absent. */
export function headerText(headers: KafkaHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const raw = headers[name] ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? ''];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** All headers as text (last value when repeated). */
export function headersAsText(headers: KafkaHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers ?? {})) {
    const value = headerText(headers, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
