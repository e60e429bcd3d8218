import { assertNever, withKind } from './destination';
import type { Destination, HttpDestination, KafkaDestination } from './task';
import type { DeadLetterReason } from './status';

/**
 * The contract between the retry workflow and the delivery activities (`deliverHttp`, `deliverKafka`).
 * Success returns a {@link DeliveryReceipt}; failure throws an `ApplicationFailure` whose `type` is one of
 * {@link DeliveryFailureType} and whose first detail is a {@link DeliveryFailureDetails}. Each call is one attempt;
 * the primary attempts of a task run inside the attempt-series activity (domain/series.ts), which turns these outcomes
 * into the task's retry timeline.
 */
export interface DeliveryRequest<D extends Destination = Destination> {
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

/** The single-attempt activity of each destination kind (their names are part of recorded histories). */
export interface SingleAttemptActivities {
  deliverHttp(req: HttpDeliveryRequest): Promise<DeliveryReceipt>;
  deliverKafka(req: KafkaDeliveryRequest): Promise<DeliveryReceipt>;
}

/** One attempt to the request's destination with the single-attempt activity of its kind. */
export function deliverOnceBy(acts: SingleAttemptActivities) {
  return (req: DeliveryRequest): Promise<DeliveryReceipt> => {
    const k = withKind(req.destination);
    switch (k.kind) {
      case 'http':
        return acts.deliverHttp({ ...req, destination: k.destination });
      case 'kafka':
        return acts.deliverKafka({ ...req, destination: k.destination });
      default:
        return assertNever(k);
    }
  };
}
