import { Kafka, logLevel } from 'kafkajs';

/**
 * A Kafka reachability probe: connects an admin client, lists topics, disconnects; rejects with the reason when the
 * cluster does not answer within the short timeouts. Used by GET /health and by the local stack's readiness wait.
 */
export function kafkaProbe(brokers: string[], clientId = 'retry-service-probe'): () => Promise<void> {
  const admin = new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  }).admin();
  return async () => {
    await admin.connect();
    try {
      await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  };
}
