import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../platform/config';
import { runService } from '../platform/lifecycle';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { temporalConnectConfig } from '../platform/temporal';
import { startMetricsServer } from '../platform/metrics-server';
import { createIngress, ingressOptionsFromConfig } from './consumer';

/**
 * The Kafka ingress as its own process (`npm run ingress`). It runs whatever INGRESS_ENABLED says (that flag decides
 * whether the worker runs an ingress in-process). SIGINT/SIGTERM (or the death of its parent), also while it is
 * still starting: in-flight starts finish, offsets are committed, the consumer leaves its group, then exit 0.
 */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'retry-service-ingress');
runService({
  name: 'retry-service-ingress',
  // An unreachable broker must not keep the process alive forever: the clean shutdown gets 30 s, then exit 1.
  graceMs: 30_000,
  start: async () => {
    const metrics = createMetrics();
    const { connectionOptions, namespace } = temporalConnectConfig();
    const connection = await Connection.connect(connectionOptions);
    const client = new Client({ connection, namespace });
    const ingress = createIngress(ingressOptionsFromConfig(config, { client, logger, metrics }));
    await ingress.start();
    const metricsServer = config.INGRESS_METRICS_PORT
      ? await startMetricsServer(metrics.registry, config.INGRESS_METRICS_PORT)
      : undefined;
    if (metricsServer) logger.info({ url: metricsServer.url }, 'ingress metrics');
    return { connection, ingress, metricsServer };
  },
  stop: async ({ connection, ingress, metricsServer }) => {
    logger.info('shutting down the ingress');
    await ingress.stop();
    await metricsServer?.close();
    await connection.close();
  },
});
