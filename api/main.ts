import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { kafkaProbe } from '../platform/kafka-probe';
import { runService } from '../platform/lifecycle';
import { temporalConnectConfig } from '../platform/temporal';
import { startWebServer } from './server';

/** Production entry of the API (`npm run api`): connect to Temporal, serve, stop on SIGINT/SIGTERM. */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'retry-service-api');
runService({
  name: 'retry-service-api',
  start: async () => {
    const { connectionOptions, namespace } = temporalConnectConfig();
    const connection = await Connection.connect(connectionOptions);
    const client = new Client({ connection, namespace });
    const web = await startWebServer({
      config,
      logger,
      client,
      metrics: createMetrics(),
      namespace,
      // GET /health reports Kafka when a cluster is configured.
      kafkaHealth: config.KAFKA_BROKERS ? kafkaProbe(config.KAFKA_BROKERS, 'retry-service-health') : undefined,
    });
    return { connection, web };
  },
  stop: async ({ connection, web }, reason) => {
    logger.info({ reason }, 'API stopping');
    await web.stop();
    await connection.close();
  },
});
