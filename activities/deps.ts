import pkg from '../package.json';
import { DestinationGuards, CircuitStatus } from '../destinations/guard';
import { createHttpClient, type HttpClient } from '../destinations/http/client';
import { KafkaProducerPool } from '../destinations/kafka/client';
import { createWebhookSigner, type WebhookSigner } from '../destinations/webhook-signer';
import { NOTIFY_SECRET_REF, type Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { LifecycleEmitter } from './lifecycle-events';
import type { Metrics } from '../platform/metrics';

/** The `User-Agent` of deliveries: `<product>/<version>` from package.json. */
export const USER_AGENT = `${pkg.name}/${pkg.version}`;

/** What the worker hands to {@link createDeliveryDeps}. */
export interface DeliveryDepsInput {
  config: Config;
  logger: Logger;
  /** Application metrics; omitted in tests that do not look at them. */
  metrics?: Metrics;
  /** Destination pause and resume (worker/destination-pauses.ts); without it no destination is ever paused. */
  destinationEvents?: DestinationEvents;
  /** Called when a destination's circuit opens, half-opens or closes (lifecycle notifications). */
  onCircuitChange?: (destination: string, status: CircuitStatus) => void;
  /** Reports lifecycle events to the notifier; absent: the reporting activities do nothing. */
  lifecycle?: LifecycleEmitter;
}

/** What the destination guards tell about destinations and ask about their pause state. */
export interface DestinationEvents {
  isPaused(destination: string): boolean;
  onOutcome(destination: string, outcome: 'success' | 'failure' | 'deferred'): void;
  onBreakerChange(destination: string, status: CircuitStatus): void;
}

/** Everything the delivery activities share within one worker process. Build once, {@link DeliveryDeps.close} once. */
export interface DeliveryDeps {
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  /** Keep-alive HTTP pool with the SSRF guard on every connection. */
  http: HttpClient;
  /** Idempotent Kafka producers by broker list. */
  kafka: KafkaProducerPool;
  /** Circuit breaker + concurrency cap per destination. */
  guards: DestinationGuards;
  /** Standard Webhooks signer over WEBHOOK_SECRETS. */
  signer: WebhookSigner;
  userAgent: string;
  lifecycle?: LifecycleEmitter;
  /** Closes the HTTP pool and disconnects the Kafka producers (call after the worker has stopped). */
  close(): Promise<void>;
}

/** Parts a test may build itself (e.g. a guard with small thresholds, an HTTP client with a DNS stub). */
export type DeliveryDepsOverrides = Partial<Pick<DeliveryDeps, 'http' | 'kafka' | 'guards' | 'signer' | 'userAgent'>>;

/**
 * Builds the shared delivery machinery from config: the HTTP pool (SSRF_ALLOW, HTTP_MAX_RESPONSE_BYTES,
 * HTTP_MAX_REDIRECTS), the Kafka producer pool (KAFKA_*), the destination guards (BREAKER_*,
 * DESTINATION_MAX_CONCURRENCY) and the webhook signer (WEBHOOK_SECRETS, NOTIFY_WEBHOOK_SECRET).
 * @throws ConfigError when SSRF_ALLOW or WEBHOOK_SECRETS holds an unusable entry
 */
export function createDeliveryDeps(input: DeliveryDepsInput, overrides: DeliveryDepsOverrides = {}): DeliveryDeps {
  const { config, logger, metrics, destinationEvents: events } = input;
  const http =
    overrides.http ??
    createHttpClient({
      ssrfAllow: config.SSRF_ALLOW,
      maxResponseBytes: config.HTTP_MAX_RESPONSE_BYTES,
      maxRedirects: config.HTTP_MAX_REDIRECTS,
    });
  const kafka =
    overrides.kafka ??
    new KafkaProducerPool({
      clientId: config.KAFKA_CLIENT_ID,
      connectionTimeoutMs: config.KAFKA_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
      clusters: config.KAFKA_CLUSTERS,
      defaultBrokers: config.KAFKA_BROKERS,
      logger: logger.child({ component: 'kafka-producers' }),
    });
  // A burst to one destination larger than DESTINATION_MAX_CONCURRENCY goes out in rounds: say so in the log too, at
  // most once a minute per destination (the metric has every wait).
  const lastSlotWarning = new Map<string, number>();
  const slotWaitWarning = (destination: string, waitedMs: number) => {
    const now = Date.now();
    if (now - (lastSlotWarning.get(destination) ?? 0) < 60_000) return;
    if (lastSlotWarning.size >= 10_000) lastSlotWarning.clear();
    lastSlotWarning.set(destination, now);
    logger.warn(
      { destination, waited_ms: Math.round(waitedMs), max_concurrency: config.DESTINATION_MAX_CONCURRENCY },
      'deliveries wait for a free slot of their destination: DESTINATION_MAX_CONCURRENCY sends a burst in rounds',
    );
  };
  const guards =
    overrides.guards ??
    new DestinationGuards({
      consecutiveFailures: config.BREAKER_CONSECUTIVE_FAILURES,
      halfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_SECONDS * 1000,
      maxConcurrency: config.DESTINATION_MAX_CONCURRENCY,
      onSlotWait: (destination, waitedMs) => {
        metrics?.destinationSlotWait.observe({ destination }, waitedMs / 1000);
        slotWaitWarning(destination, waitedMs);
      },
      onStateChange: (destination, status) => {
        metrics?.circuitState.set({ destination }, status === CircuitStatus.Closed ? 0 : 1);
        logger.warn({ destination, circuit: status }, `destination circuit ${status}`);
        events?.onBreakerChange(destination, status);
        input.onCircuitChange?.(destination, status);
      },
      ...(events ? { isPaused: (d: string) => events.isPaused(d), onOutcome: events.onOutcome.bind(events) } : {}),
    });
  const signer =
    overrides.signer ??
    createWebhookSigner({
      ...config.WEBHOOK_SECRETS,
      ...(config.NOTIFY_WEBHOOK_SECRET ? { [NOTIFY_SECRET_REF]: [config.NOTIFY_WEBHOOK_SECRET] } : {}),
    });
  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    metrics,
    http,
    kafka,
    guards,
    signer,
    userAgent: overrides.userAgent ?? USER_AGENT,
    lifecycle: input.lifecycle,
    close() {
      closing ??= Promise.all([http.close(), kafka.close()]).then(() => undefined);
      return closing;
    },
  };
}
