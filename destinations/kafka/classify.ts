import { DeliveryFailureType, type FailureClass } from '../../domain/failures';

/** Broker error types that another attempt will not fix: authorization, invalid topic, record too large, … */
const permanentProtocolErrors = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
]);

/** The error type kafkajs reports when a topic does not exist (or the partition is unknown). */
export const UNKNOWN_TOPIC = 'UNKNOWN_TOPIC_OR_PARTITION';

/** Thrown when a produce outlasts the attempt's deadline (`timeout_ms`). */
export class ProduceTimeoutError extends Error {
  constructor(public readonly timeoutMs: number) {
    super(`no acknowledgement from the broker within ${timeoutMs} ms`);
    this.name = 'ProduceTimeoutError';
  }
}

/**
 * Classifies a kafkajs error (unwrapping `KafkaJSNumberOfRetriesExceeded` and aggregate errors). Authorization,
 * invalid topics, oversized records and SASL failures are permanent; an unknown topic is retryable only when
 * `topicMayBeCreated`; everything else (retriable broker errors, connection errors, timeouts, producer-state
 * errors) is retryable. `errorClass` is the broker error type (`TOPIC_AUTHORIZATION_FAILED`,
 * `UNKNOWN_TOPIC_OR_PARTITION`) or `connection_error`, `timeout`.
 */
export function classifyKafkaError(err: unknown, topicMayBeCreated: boolean): FailureClass {
  const chain = flatten(err);
  const message = describe(chain);
  const protocolType = chain
    .map((e) => (e as { type?: unknown }).type)
    .find((t): t is string => typeof t === 'string' && /^[A-Z_]+$/.test(t));
  const names = chain.map((e) => (e as { name?: unknown }).name);
  if (names.includes('KafkaJSSASLAuthenticationError')) {
    return { type: DeliveryFailureType.Permanent, errorClass: 'SASL_AUTHENTICATION_FAILED', message };
  }
  if (protocolType === UNKNOWN_TOPIC || names.includes('KafkaJSTopicMetadataNotLoaded')) {
    return topicMayBeCreated
      ? { type: DeliveryFailureType.Retryable, errorClass: UNKNOWN_TOPIC, message }
      : {
          type: DeliveryFailureType.Permanent,
          errorClass: UNKNOWN_TOPIC,
          message: `${message} (the topic does not exist and the broker will not create it)`,
        };
  }
  if (protocolType && permanentProtocolErrors.has(protocolType)) {
    return { type: DeliveryFailureType.Permanent, errorClass: protocolType, message };
  }
  if (protocolType) return { type: DeliveryFailureType.Retryable, errorClass: protocolType, message };
  if (
    chain.some((e) => e instanceof ProduceTimeoutError) ||
    names.some((n) => n === 'KafkaJSRequestTimeoutError' || n === 'KafkaJSTimeout')
  ) {
    return { type: DeliveryFailureType.Retryable, errorClass: 'timeout', message };
  }
  if (names.some((n) => n === 'KafkaJSConnectionError' || n === 'KafkaJSConnectionClosedError')) {
    return { type: DeliveryFailureType.Retryable, errorClass: 'connection_error', message };
  }
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c): c is string => typeof c === 'string');
  return { type: DeliveryFailureType.Retryable, errorClass: code ?? 'kafka_error', message };
}

function flatten(err: unknown): unknown[] {
  const out: unknown[] = [];
  const visit = (e: unknown, depth: number) => {
    if (e === undefined || e === null || depth > 5 || out.includes(e)) return;
    out.push(e);
    const x = e as { originalError?: unknown; cause?: unknown; errors?: unknown };
    visit(x.originalError, depth + 1);
    visit(x.cause, depth + 1);
    if (Array.isArray(x.errors)) for (const inner of x.errors) visit(inner, depth + 1);
  };
  visit(err, 0);
  return out;
}

function describe(chain: unknown[]): string {
  const messages = chain.map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean);
  return [...new Set(messages)].join(': ');
}
