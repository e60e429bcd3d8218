import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { tracingFromConfig } from '../platform/tracing';
import { installRuntime } from './runtime';
import { startWorkerService } from './service';

/** Production entry of the worker (`npm run worker`): run until SIGINT/SIGTERM, then drain. */
async function run() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'retry-service-worker');
  const sdkMetricsUrl = installRuntime(logger, config);
  const tracing = tracingFromConfig(config, 'retry-service-worker');
  const service = await startWorkerService({
    config,
    logger,
    metrics: createMetrics(),
    tracing,
    sdkMetricsUrl,
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'worker draining');
    void service.stop();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await service.done;
  await tracing.shutdown();
  logger.info('worker stopped');
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
