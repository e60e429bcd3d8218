import { defineUpdate } from '@temporalio/workflow';
import { assertNever, tagDestination, type StoredDestination } from './destination';
import type { TransitionResult } from './messages';

/**
 * Receiver acknowledgement: with `ack_timeout` on an HTTP destination, a 2xx is not success. The receiver confirms
 * (ack) or refuses (nack) the delivery later through the URLs sent with it; the API checks the token and passes the
 * answer to the task's workflow through {@link receiverAckUpdate}. Pure and workflow-safe: the workflow, the
 * activities and the API share these definitions (the token itself is made and checked in destinations/ack-token.ts).
 */

/** Patch id of the acknowledgement behaviour in the retry workflow (only tasks with `ack_timeout` reach it). */
export const ReceiverAckPatch = 'receiver-ack-v1';

/** `error_class` of an attempt whose receiver did not ack in time, and of one it nacked. */
export const AckErrorClass = { Timeout: 'ack_timeout', Nack: 'nack' } as const;

/** Request headers of a delivery that must be acknowledged (lower case). */
export const AckHeader = { Url: 'x-ack-url', Token: 'x-ack-token', NackUrl: 'x-nack-url' } as const;

/**
 * Which delivery an ack answers, independent of workflow runs: the primary attempt number or the dead-letter delivery,
 * within the task's current requeue round (a requeue starts attempts at 1 again, so the round tells them apart).
 */
export interface AckTarget {
  target: 'primary' | 'dead_letter';
  /** The task's requeue count when the delivery was made. */
  round: number;
  /** Attempt number (1 for the dead-letter delivery). */
  attempt: number;
}

/** What the API hands the workflow after checking the token (the token never enters the history). */
export interface ReceiverAnswer extends AckTarget {
  outcome: 'ack' | 'nack';
  /** nack only: the receiver's reason. */
  reason?: string;
  /** nack only: false sends the task to its dead destination at once. */
  retryable?: boolean;
}

/** The ack / nack of a delivery; the validator rejects (→ 409) an answer for an attempt that no longer waits for one. */
export const receiverAckUpdate = defineUpdate<TransitionResult, [ReceiverAnswer]>('receiverAck');

/** The destination's ack timeout in seconds, when it asks for acknowledgement (HTTP destinations only). */
export function ackTimeoutOf(d: StoredDestination | null | undefined): number | undefined {
  if (!d) return undefined;
  const t = tagDestination(d);
  switch (t.kind) {
    case 'http':
      return t.ack_timeout;
    case 'kafka':
      return undefined;
    default:
      return assertNever(t);
  }
}

/** A short human name of an acknowledged delivery, e.g. `attempt 2` or `the dead-letter delivery`. */
export function describeAckTarget(t: AckTarget): string {
  return t.target === 'primary' ? `attempt ${t.attempt}` : 'the dead-letter delivery';
}
