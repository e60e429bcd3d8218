import { DeliveryFailureType, type ClassifiedFailure, type DeliveryFailureDetails } from '../domain/failures';

/**
 * Thrown by the destination machinery when one delivery attempt fails, already classified (domain/failures.ts). The
 * activity boundary turns it into an `ApplicationFailure` of the same `type` with `details` as its first detail.
 */
export class DeliveryError extends Error implements ClassifiedFailure {
  constructor(
    public readonly type: DeliveryFailureType,
    message: string,
    public readonly details: DeliveryFailureDetails,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }

  /** True for failures that say the destination is unwell (they count toward opening its circuit). */
  get isRetryable(): boolean {
    return this.type === DeliveryFailureType.Retryable;
  }
}

/** A retryable failure: 408/425/429/5xx, timeouts, connection errors, retriable broker errors. */
export function retryable(message: string, details: DeliveryFailureDetails): DeliveryError {
  return new DeliveryError(DeliveryFailureType.Retryable, message, details);
}

/** A permanent failure: the destination (or the guard) refuses this message; another attempt would not help. */
export function permanent(message: string, details: DeliveryFailureDetails): DeliveryError {
  return new DeliveryError(DeliveryFailureType.Permanent, message, details);
}

/** Nothing was sent: the destination's circuit is open (or it is saturated); the attempt does not count. */
export function deferred(message: string, details: DeliveryFailureDetails): DeliveryError {
  return new DeliveryError(DeliveryFailureType.CircuitOpen, message, details);
}

/**
 * Thrown by the destination guard instead of sending when the destination is paused (domain/destination-pause.ts):
 * nothing was sent and the attempt does not count. The attempt series ends the task's run of attempts with it.
 */
export class DestinationPausedError extends Error {
  constructor(public readonly destinationKey: string) {
    super(`destination ${destinationKey} is paused`);
    this.name = 'DestinationPausedError';
  }
}
