import type { DeliveryReceipt, KafkaDeliveryRequest } from '../../domain/delivery';
import { classifyKafkaError, ProduceTimeoutError, UNKNOWN_TOPIC } from './classify';
import { DeliveryError, permanent } from '../delivery-error';
import { deliveryHeaders } from '../delivery-headers';
import type { DestinationGuards } from '../guard';
import { kafkaDestinationKey } from './key';
import { UnknownClusterError, type KafkaProducerPool } from './client';

/** What {@link deliverKafkaOnce} needs; built once per worker by `createDeliveryDeps`. */
export interface KafkaDeliveryDeps {
  kafka: KafkaProducerPool;
  guards: DestinationGuards;
  /** KAFKA_REQUEST_TIMEOUT_MS: how long the broker may take to acknowledge (acks = all), milliseconds. */
  requestTimeoutMs: number;
}

/**
 * One Kafka delivery attempt: produces the record (value, key, partition, the task's headers plus the delivery
 * headers) with the pooled idempotent producer, acks = all, through the destination's guard.
 * @returns partition and offset of the written record
 * @throws DeliveryError (Retryable / Permanent / CircuitOpen) — see domain/delivery.ts
 */
export async function deliverKafkaOnce(
  deps: KafkaDeliveryDeps,
  req: KafkaDeliveryRequest,
  signal?: AbortSignal,
): Promise<DeliveryReceipt> {
  const dest = req.destination;
  let brokers: string[];
  try {
    brokers = deps.kafka.brokersOf(dest);
  } catch (err) {
    if (!(err instanceof UnknownClusterError)) throw err;
    throw permanent(err.message, { error_class: 'unknown_cluster', duration_ms: 0 });
  }
  const headers = { ...req.headers, ...deliveryHeaders(req) };
  return deps.guards.run(
    kafkaDestinationKey(brokers, dest.topic),
    async () => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      try {
        const [meta] = await withDeadline(
          async () => {
            const producer = await deps.kafka.producer(brokers);
            return producer.send({
              topic: dest.topic,
              acks: -1,
              timeout: deps.requestTimeoutMs,
              messages: [
                {
                  value: req.message_data,
                  key: req.key ?? null,
                  headers,
                  ...(dest.partition !== undefined ? { partition: dest.partition } : {}),
                },
              ],
            });
          },
          req.timeout_ms,
          signal,
        );
        return {
          duration_ms: elapsed(),
          ...(meta ? { partition: meta.partition, offset: meta.baseOffset ?? meta.offset } : {}),
        };
      } catch (err) {
        if (signal?.aborted) throw err;
        let c = classifyKafkaError(err, false);
        if (c.errorClass === UNKNOWN_TOPIC) c = classifyKafkaError(err, await deps.kafka.mayAutoCreateTopics(brokers));
        throw new DeliveryError(c.type, `kafka ${dest.topic}@${brokers.join(',')}: ${c.message}`, {
          error_class: c.errorClass,
          duration_ms: elapsed(),
        });
      }
    },
    signal,
    // Only primary deliveries wait for a paused destination; a dead letter goes out regardless.
    req.kind === 'primary' && !req.released,
  );
}

/**
 * Races `fn` against the attempt's deadline and the cancellation signal. kafkajs cannot abort a produce, so on
 * either the produce is abandoned (its acknowledgement, if any, is ignored; the idempotent producer keeps the
 * record from being duplicated by its own retries, and the workflow treats the attempt as failed).
 */
async function withDeadline<T>(fn: () => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const work = fn();
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProduceTimeoutError(timeoutMs)), timeoutMs);
        if (signal) {
          onAbort = () => reject(signal.reason);
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
