import type { DeliveryRequest, FailureContext } from '../domain/delivery';

/** Header names the service adds to deliveries (lower case; HTTP and Kafka alike). */
export const DeliveryHeader = {
  TaskId: 'x-retry-task-id',
  Attempt: 'x-retry-attempt',
  Source: 'x-retry-source',
  /** HTTP only: the task's message key (Kafka carries it as the record key). */
  Key: 'x-retry-key',
  Reason: 'x-retry-reason',
  Attempts: 'x-retry-attempts',
  LastError: 'x-retry-last-error',
  LastStatus: 'x-retry-last-status',
  FirstAttemptAt: 'x-retry-first-attempt-at',
  LastAttemptAt: 'x-retry-last-attempt-at',
  OriginalDestination: 'x-retry-original-destination',
  /** Dead letters of Kafka tasks: the topic the message was meant for. */
  OriginalTopic: 'x-retry-original-topic',
} as const;
export type DeliveryHeader = (typeof DeliveryHeader)[keyof typeof DeliveryHeader];

/** Largest value put in a failure-context header, characters (error texts can be long). */
const MAX_CONTEXT_VALUE_CHARS = 1024;

/**
 * The headers that say where a delivery comes from: task id, attempt and source always; for a dead-letter delivery
 * also the failure context (reason, attempts, last error and status, first/last attempt times, original
 * destination). Values are single-line and capped so they are valid HTTP header values.
 */
export function deliveryHeaders(req: DeliveryRequest): Record<string, string> {
  const headers: Record<string, string> = {
    [DeliveryHeader.TaskId]: req.task_id,
    [DeliveryHeader.Attempt]: String(req.attempt),
    [DeliveryHeader.Source]: req.source,
  };
  if (req.kind === 'dead_letter' && req.failure) Object.assign(headers, failureHeaders(req.failure));
  for (const [name, value] of Object.entries(headers)) headers[name] = headerSafe(value);
  return headers;
}

function failureHeaders(f: FailureContext): Record<string, string> {
  const h: Record<string, string> = {
    [DeliveryHeader.Reason]: f.reason,
    [DeliveryHeader.Attempts]: String(f.attempts),
    [DeliveryHeader.OriginalDestination]: f.original_destination,
  };
  if (f.last_error !== undefined) h[DeliveryHeader.LastError] = f.last_error;
  if (f.last_status_code !== undefined) h[DeliveryHeader.LastStatus] = String(f.last_status_code);
  if (f.first_attempt_at !== undefined) h[DeliveryHeader.FirstAttemptAt] = f.first_attempt_at;
  if (f.last_attempt_at !== undefined) h[DeliveryHeader.LastAttemptAt] = f.last_attempt_at;
  if (f.original_topic !== undefined) h[DeliveryHeader.OriginalTopic] = f.original_topic;
  return h;
}

/** Replaces control characters (CR/LF would split a header) and non-Latin-1 text, and caps the length. */
export function headerSafe(value: string): string {
  const clean = value.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/[^\x20-\xff]/g, '?');
  return clean.length > MAX_CONTEXT_VALUE_CHARS ? `${clean.slice(0, MAX_CONTEXT_VALUE_CHARS - 3)}...` : clean;
}
