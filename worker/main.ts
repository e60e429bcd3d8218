import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { runService } from '../platform/lifecycle';
import { tracingFromConfig } from '../platform/tracing';
import { installRuntime } from './runtime';
import { startWorkerService } from './service';

/** Production entry of the worker (`npm run worker`): run until SIGINT/SIGTERM, then drain. */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'retry-service-worker');
const tracing = tracingFromConfig(config, 'retry-service-worker');
runService({
  name: 'retry-service-worker',
  // Draining waits for in-flight deliveries up to the worker's 20 s shutdown grace; the whole stop stays under 30 s.
  graceMs: 28_000,
  start: () =>
    startWorkerService({
      config,
      logger,
      metrics: createMetrics(),
      tracing,
      sdkMetricsUrl: installRuntime(logger, config),
    }),
  stop: async (service, reason) => {
    logger.info({ reason }, 'worker draining');
    await service.stop();
    await tracing.shutdown();
    logger.info('worker stopped');
  },
  // A worker that stops by itself (fatal error) exits too (1 when it failed).
  ended: (service) => service.done,
});
