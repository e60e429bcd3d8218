import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../platform/config';
import { stopOnSignals } from '../platform/lifecycle';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { temporalConnectConfig } from '../platform/temporal';
import { startMetricsServer } from '../platform/metrics-server';
import { createIngress, ingressOptionsFromConfig } from './consumer';

/**
 * The Kafka ingress as its own process (`npm run ingress`). It runs whatever INGRESS_ENABLED says (that flag decides
 * whether the worker runs an ingress in-process). SIGINT/SIGTERM (or the death of its parent): in-flight starts
 * finish, offsets are committed, the consumer leaves its group, then the process exits 0.
 */
async function run() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'retry-service-ingress');
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

  // An unreachable broker must not keep the process alive forever: the clean shutdown gets 30 s, then exit 1.
  stopOnSignals({
    name: 'retry-service-ingress',
    graceMs: 30_000,
    stop: async () => {
      logger.info('shutting down the ingress');
      await ingress.stop();
      await metricsServer?.close();
      await connection.close();
    },
  });
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
