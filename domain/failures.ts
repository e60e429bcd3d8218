import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { AttemptOutcome } from './status';

/**
 * The one failure model of a delivery. A destination classifies what went wrong into a {@link ClassifiedFailure}
 * (destinations/<kind>/classify.ts); the activity boundary turns it into an `ApplicationFailure` of the same `type`
 * with the details as its first detail ({@link toApplicationFailure}); the workflow reads it back with
 * {@link classifiedFromFailure}. Pure and workflow-safe: the workflow, the activities and the destinations share it.
 */

/** `type` of the ApplicationFailure a delivery activity throws. Match on these strings, never on classes. */
export const DeliveryFailureType = {
  /** Worth another attempt: 408/425/429/5xx, timeouts, connection errors, retriable broker errors. */
  Retryable: 'DeliveryFailed',
  /** Not worth another attempt: other 4xx, refused URL, authorization, invalid topic, record too large. */
  Permanent: 'DestinationRejected',
  /** Nothing was sent: the destination's circuit breaker is open. The attempt does not count. */
  CircuitOpen: 'CircuitOpen',
} as const;
export type DeliveryFailureType = (typeof DeliveryFailureType)[keyof typeof DeliveryFailureType];

export interface DeliveryFailureDetails {
  /** Short machine-readable class, e.g. `http_503`, `timeout`, `ECONNREFUSED`, `ssrf_blocked`, `UNKNOWN_TOPIC`. */
  error_class: string;
  duration_ms: number;
  status_code?: number;
  /** The receiver's Retry-After, milliseconds from now. */
  retry_after_ms?: number;
  body_snippet?: string;
  /** For CircuitOpen: when the breaker lets a probe through (ISO time). */
  circuit_open_until?: string;
}

/** What a destination's classifier says about one error: its type, a short class and a readable message. */
export interface FailureClass {
  type: DeliveryFailureType;
  /** Short machine-readable class: `timeout`, `ECONNREFUSED`, `ssrf_blocked`, `TOPIC_AUTHORIZATION_FAILED`, … */
  errorClass: string;
  message: string;
}

/** A classified delivery failure: what the series, the workflow and the attempt log read. */
export interface ClassifiedFailure {
  /** A {@link DeliveryFailureType}; a string because the workflow reads it from a failure it did not create. */
  type: string;
  message: string;
  details: DeliveryFailureDetails;
}

/** The attempt-log outcome of a failure type; unknown types count as retryable. */
export function failureOutcome(type: string): AttemptOutcome {
  if (type === DeliveryFailureType.Permanent) return AttemptOutcome.Permanent;
  if (type === DeliveryFailureType.CircuitOpen) return AttemptOutcome.Deferred;
  return AttemptOutcome.Retryable;
}

/** A failure the code did not classify (a bug, an unexpected throw): retryable, class `internal_error`. */
export function internalFailure(err: unknown, elapsedMs: number): ClassifiedFailure {
  return {
    type: DeliveryFailureType.Retryable,
    message: `unexpected delivery error: ${err instanceof Error ? err.message : String(err)}`,
    details: { error_class: 'internal_error', duration_ms: elapsedMs },
  };
}

/**
 * The ApplicationFailure the workflow matches on: `type`, nonRetryable for permanent failures, details[0] the
 * details. `nextRetryDelayMs` asks the server to wait that long before the activity's next Temporal attempt.
 */
export function toApplicationFailure(failure: ClassifiedFailure, nextRetryDelayMs?: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: failure.type,
    message: failure.message,
    nonRetryable: failure.type === DeliveryFailureType.Permanent,
    details: [failure.details],
    // The server reads a zero next-retry delay as "no retry": 1 ms at least, so a zero wait retries at once.
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: Math.max(1, nextRetryDelayMs) } : {}),
  });
}

/**
 * Reads the classified failure a delivery activity threw (its `type` and first detail); failures the activity never
 * reported (timeouts, crashes) count as retryable.
 */
export function classifiedFromFailure(err: unknown, elapsedMs: number): ClassifiedFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as Partial<DeliveryFailureDetails>;
    return {
      type: cause.type ?? DeliveryFailureType.Retryable,
      message: cause.message,
      details: { error_class: cause.type ?? 'error', duration_ms: elapsedMs, ...details },
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      type: DeliveryFailureType.Retryable,
      message: `activity timed out (${cause.timeoutType})`,
      details: { error_class: 'activity_timeout', duration_ms: elapsedMs },
    };
  }
  return {
    type: DeliveryFailureType.Retryable,
    message: cause instanceof Error ? cause.message : String(cause),
    details: { error_class: 'error', duration_ms: elapsedMs },
  };
}
