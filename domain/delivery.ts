import {
  assertNever,
  tagDestination,
  type DestinationOfKind,
  type DestinationType,
  type StoredDestination,
} from './destination';
import type { HttpDestination, KafkaDestination } from './task';
import type { DeadLetterReason } from './status';

/**
 * The contract between the retry workflow and the delivery activities (`deliverHttp`, `deliverKafka`).
 * Success returns a {@link DeliveryReceipt}; failure throws an `ApplicationFailure` whose `type` is a
 * `DeliveryFailureType` and whose first detail is the `DeliveryFailureDetails` (domain/failures.ts). Each call is one attempt;
 * the primary attempts of a task run inside the attempt-series activity (domain/series.ts), which turns these outcomes
 * into the task's retry timeline.
 */
export interface DeliveryRequest<D extends StoredDestination = StoredDestination> {
  task_id: string;
  /** 1-based attempt number (the X-Message-Key suffix). */
  attempt: number;
  /** `dead_letter` when delivering to the dead destination. */
  kind: 'primary' | 'dead_letter';
  destination: D;
  message_data: string;
  key?: string;
  headers?: Record<string, string>;
  source: string;
  client_id: string;
  /** Per-attempt timeout, milliseconds. */
  timeout_ms: number;
  /** Present for dead-letter deliveries: why and after what the task gave up. */
  failure?: FailureContext;
  /** Present when the destination has `ack_timeout`: the task's requeue round, part of the ack token (domain/ack.ts). */
  ack_round?: number;
  /**
   * True on the first delivery after the destination's resume released the task: the worker's view of paused
   * destinations (refreshed every DESTINATION_PAUSE_REFRESH_MS) may still say paused, and must not send it back to
   * the end of the destination's queue.
   */
  released?: boolean;
}
export type HttpDeliveryRequest = DeliveryRequest<HttpDestination>;
export type KafkaDeliveryRequest = DeliveryRequest<KafkaDestination>;

/** What the dead destination receives besides the original message, key and headers. */
export interface FailureContext {
  reason: DeadLetterReason;
  attempts: number;
  last_error?: string;
  last_status_code?: number;
  first_attempt_at?: string;
  last_attempt_at?: string;
  /** Where the message was meant to go, e.g. `POST https://…` or `kafka orders@host:9092`. */
  original_destination: string;
  /** The topic the message was meant for, when the original destination is Kafka. */
  original_topic?: string;
}

export interface DeliveryReceipt {
  duration_ms: number;
  /** HTTP status code. */
  status_code?: number;
  /** First bytes of the response body (capped). */
  body_snippet?: string;
  /** Kafka partition and offset of the written record. */
  partition?: number;
  offset?: string;
}

/** The single-attempt activity of each destination kind, by name (the names are part of recorded histories). */
export const singleAttemptActivityOf = {
  http: 'deliverHttp',
  kafka: 'deliverKafka',
} as const satisfies Record<DestinationType, string>;

/** The single-attempt activities: one per kind, named by {@link singleAttemptActivityOf}. */
export type SingleAttemptActivities = {
  [K in DestinationType as (typeof singleAttemptActivityOf)[K]]: (
    req: DeliveryRequest<DestinationOfKind[K]>,
  ) => Promise<DeliveryReceipt>;
};

/** One attempt to the request's destination with the single-attempt activity of its kind. */
export function deliverOnceBy(acts: SingleAttemptActivities) {
  return (req: DeliveryRequest): Promise<DeliveryReceipt> => {
    const destination = tagDestination(req.destination);
    switch (destination.kind) {
      case 'http':
        return acts[singleAttemptActivityOf.http]({ ...req, destination });
      case 'kafka':
        return acts[singleAttemptActivityOf.kafka]({ ...req, destination });
      default:
        return assertNever(destination);
    }
  };
}
