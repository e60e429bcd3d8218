import type { EachMessageHandler, EachMessagePayload, IHeaders, Producer } from 'kafkajs';
import type { TaskRequest } from '../domain/task';
import { headerText, headersAsText, RetryHeader } from './headers';

/**
 * Non-blocking retries for kafkajs consumers, like Spring Kafka's `@RetryableTopic`: wrap your `eachMessage` handler;
 * when it throws, the message is handed to the retry service (a task on the retry-request topic) and your partition
 * moves on. The retry service delivers the message back to your topic (or `retryTopic`s target) after the backoff, with
 * a `retry-attempt` header; after `maxRetries` hand-offs the next failure goes to the dead-letter topic instead.
 *
 * ```ts
 * const producer = kafka.producer();
 * await producer.connect();
 * await consumer.run({
 *   eachMessage: retryableHandler(async ({ message }) => processOrder(message), {
 *     producer,
 *     name: 'orders-service',
 *     brokers: ['kafka:9092'],
 *     maxRetries: 4,
 *     backoff: { initialDelaySeconds: 10, maxDelaySeconds: 600 },
 *   }),
 * });
 * ```
 *
 * Guarantees: the hand-off is written (acks=all) before the handler returns, so kafkajs commits the offset only after
 * the retry service has the message; if the hand-off itself fails, the original error is rethrown and kafkajs retries
 * the message as it would without the wrapper. A re-handed-off message (your app restarted before its commit) has the
 * same task id, so the retry service starts it once.
 */

/** Backoff of the application-level retries. */
export interface HandOffBackoff {
  /** Wait before the first redelivery, seconds. @default 5 */
  initialDelaySeconds?: number;
  /** Factor between consecutive waits. @default 2 */
  multiplier?: number;
  /** Cap on any wait, seconds. @default 3600 */
  maxDelaySeconds?: number;
}

/** Retry policy of the retry service's own delivery back to your topic (rarely needs changing). */
export interface RedeliveryPolicy {
  /** Delivery attempts to the target topic before the message goes to the dead-letter topic. @default 5 */
  maxRetries?: number;
  /** Base of the delivery backoff, seconds. @default 1 */
  baseDelaySeconds?: number;
}

/** Passed to `onRetry` after a successful hand-off. */
export interface HandOffEvent {
  topic: string;
  partition: number;
  offset: string;
  /** Task id in the retry service (dedupe key; look it up with GET /tasks/{id}). */
  taskId: string;
  /** Hand-off number, 1 for the first failure. */
  attempt: number;
  /** When the message is redelivered. */
  deliverAt: Date;
  error: unknown;
  /** Headers not carried over because their names are not HTTP tokens. */
  droppedHeaders: string[];
}

/** Passed to `onGiveUp` after a message was written to the dead-letter topic. */
export interface GiveUpEvent {
  topic: string;
  partition: number;
  offset: string;
  /** Hand-offs made before giving up. */
  attempts: number;
  deadLetterTopic: string;
  /** `exhausted`: maxRetries reached; `not_retryable`: isRetryable said no; `empty`: no value to hand off. */
  reason: 'exhausted' | 'not_retryable' | 'empty';
  error: unknown;
}

export interface RetryableHandlerOptions {
  /** A connected kafkajs producer on your cluster (it writes hand-offs and dead letters). */
  producer: Producer;
  /** Your application's name, usually its consumer group id: prefixes task ids, so keep it stable and unique. */
  name: string;
  /** Bootstrap brokers of your cluster as the retry service's workers reach it. */
  brokers: string[];
  /** The retry service's retry-request topic (INGRESS_RETRY_TOPIC). @default 'retry.requests' */
  retryRequestTopic?: string;
  /** Where the retried message is redelivered. @default the topic it was consumed from */
  retryTopic?: string | ((topic: string) => string);
  /** Where messages go when retries are over. @default `<topic>.dlt` */
  deadLetterTopic?: string | ((topic: string) => string);
  /** Hand-offs per message before it is dead-lettered. 0 dead-letters on the first failure. @default 3 */
  maxRetries?: number;
  backoff?: HandOffBackoff;
  redelivery?: RedeliveryPolicy;
  /** Errors for which retrying is pointless go straight to the dead-letter topic. @default every error is retryable */
  isRetryable?: (error: unknown, payload: EachMessagePayload) => boolean;
  /** Task `client_id` (search attribute ClientId). @default the `name` option */
  clientId?: string;
  onRetry?: (event: HandOffEvent) => void;
  onGiveUp?: (event: GiveUpEvent) => void;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
}

/** Defaults of {@link RetryableHandlerOptions}. */
export const retryableHandlerDefaults = {
  retryRequestTopic: 'retry.requests',
  maxRetries: 3,
  backoff: { initialDelaySeconds: 5, multiplier: 2, maxDelaySeconds: 3600 },
  redelivery: { maxRetries: 5, baseDelaySeconds: 1 },
  deadLetterSuffix: '.dlt',
} as const;

const HTTP_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const MAX_ERROR_CHARS = 1000;

/** Wraps an `eachMessage` handler so that a throw becomes a hand-off to the retry service (see the module docs). */
export function retryableHandler(handler: EachMessageHandler, options: RetryableHandlerOptions): EachMessageHandler {
  const maxRetries = options.maxRetries ?? retryableHandlerDefaults.maxRetries;
  const backoff = { ...retryableHandlerDefaults.backoff, ...options.backoff };
  const redelivery = { ...retryableHandlerDefaults.redelivery, ...options.redelivery };
  const retryRequestTopic = options.retryRequestTopic ?? retryableHandlerDefaults.retryRequestTopic;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError('retryableHandler: maxRetries must be a non-negative integer');
  }
  if (backoff.initialDelaySeconds < 0 || backoff.maxDelaySeconds < backoff.initialDelaySeconds) {
    throw new RangeError('retryableHandler: backoff.maxDelaySeconds cannot be less than backoff.initialDelaySeconds');
  }
  if (redelivery.maxRetries < 1) throw new RangeError('retryableHandler: redelivery.maxRetries must be at least 1');
  if (options.brokers.length === 0) throw new RangeError('retryableHandler: brokers cannot be empty');
  const pick = (o: string | ((t: string) => string) | undefined, topic: string, fallback: string) =>
    o === undefined ? fallback : typeof o === 'string' ? o : o(topic);

  return async (payload) => {
    try {
      await handler(payload);
      return;
    } catch (error) {
      const { topic, partition, message } = payload;
      const done = Number(headerText(message.headers, RetryHeader.Attempt) ?? '0');
      const previous = Number.isInteger(done) && done >= 0 ? done : 0;
      const deadLetterTopic = pick(
        options.deadLetterTopic,
        topic,
        `${topic}${retryableHandlerDefaults.deadLetterSuffix}`,
      );
      const errorText = describeError(error);

      const giveUp = async (reason: GiveUpEvent['reason']) => {
        await options.producer.send({
          topic: deadLetterTopic,
          acks: -1,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: {
                ...message.headers,
                [RetryHeader.LastError]: errorText,
                [RetryHeader.Attempt]: String(previous),
                [RetryHeader.Origin]:
                  headerText(message.headers, RetryHeader.Origin) ?? `${topic}/${partition}/${message.offset}`,
              },
            },
          ],
        });
        options.onGiveUp?.({
          topic,
          partition,
          offset: message.offset,
          attempts: previous,
          deadLetterTopic,
          reason,
          error,
        });
      };

      try {
        if (!message.value || message.value.length === 0) return await giveUp('empty');
        if (options.isRetryable && !options.isRetryable(error, payload)) return await giveUp('not_retryable');
        if (previous >= maxRetries) return await giveUp('exhausted');

        const attempt = previous + 1;
        const delaySeconds = Math.min(
          backoff.maxDelaySeconds,
          backoff.initialDelaySeconds * backoff.multiplier ** (attempt - 1),
        );
        const deliverAt = new Date(now() + delaySeconds * 1000);
        const taskId = `${options.name}-${topic}-${partition}-${message.offset}`.replace(/[\s/?#]/g, '_');
        const carried: Record<string, string> = {};
        const droppedHeaders: string[] = [];
        for (const [name, value] of Object.entries(headersAsText(message.headers))) {
          if (HTTP_TOKEN.test(name)) carried[name] = value;
          else droppedHeaders.push(name);
        }
        const task: TaskRequest = {
          id: taskId,
          source: `kafka:${topic}`,
          client_id: options.clientId ?? options.name,
          destination_type: 'kafka',
          destination: { brokers: options.brokers, topic: pick(options.retryTopic, topic, topic) },
          dead_destination: { brokers: options.brokers, topic: deadLetterTopic },
          message_data: message.value.toString('utf8'),
          ...(message.key ? { key: message.key.toString('utf8') } : {}),
          headers: {
            ...carried,
            [RetryHeader.Attempt]: String(attempt),
            [RetryHeader.LastError]: errorText,
            [RetryHeader.Origin]: carried[RetryHeader.Origin] ?? `${topic}/${partition}/${message.offset}`,
          },
          max_retries: redelivery.maxRetries,
          base_delay: redelivery.baseDelaySeconds,
          deliver_at: deliverAt.toISOString(),
        };
        const headers: IHeaders = { [RetryHeader.MessageId]: taskId };
        await options.producer.send({
          topic: retryRequestTopic,
          acks: -1,
          messages: [{ key: message.key, value: JSON.stringify(task), headers }],
        });
        options.onRetry?.({
          topic,
          partition,
          offset: message.offset,
          taskId,
          attempt,
          deliverAt,
          error,
          droppedHeaders,
        });
      } catch (handOffError) {
        // The retry service does not have the message: fail like the unwrapped handler, so kafkajs retries it.
        throw new HandOffError(error, handOffError);
      }
    }
  };
}

/** Thrown by a wrapped handler when the handler failed and the hand-off (or dead-letter write) failed too. */
export class HandOffError extends Error {
  constructor(
    /** What the application's handler threw. */
    public readonly handlerError: unknown,
    /** Why the hand-off could not be written. */
    public readonly handOffError: unknown,
  ) {
    super(
      `hand-off to the retry service failed (${describeError(handOffError)}) after: ${describeError(handlerError)}`,
    );
    this.name = 'HandOffError';
  }
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}
