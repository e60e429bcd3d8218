import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../platform/config';

/**
 * Shared settings of the example commands: the same variables as the service (KAFKA_BROKERS, INGRESS_RETRY_TOPIC,
 * INGRESS_TIER_PREFIX, INGRESS_DLQ_TOPIC), so the examples talk to the stack `npm start` runs.
 */
export const config = loadConfig();
export const brokers = config.KAFKA_BROKERS ?? ['127.0.0.1:9092'];
export const kafka = new Kafka({ clientId: 'retry-examples', brokers, logLevel: logLevel.WARN });

/** The application topic of the examples. @default 'orders' (EXAMPLE_TOPIC) */
export const appTopic = process.env.EXAMPLE_TOPIC ?? 'orders';

/** Resolves on SIGINT/SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
