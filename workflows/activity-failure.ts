import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { DeliveryFailureType, type DeliveryFailureDetails } from '../domain/delivery';
import type { ClassifiedFailure } from '../domain/series';

/**
 * Reads the classified failure a delivery activity threw (its `type` and first detail); failures the activity never
 * reported (timeouts, crashes) count as retryable.
 */
export function classifyActivityFailure(err: unknown, elapsedMs: number): ClassifiedFailure {
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
