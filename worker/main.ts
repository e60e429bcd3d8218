import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { stopOnSignals } from '../platform/lifecycle';
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
  let failed = false;
  const stop = async (reason: string) => {
    logger.info({ reason }, 'worker draining');
    await service.stop();
    await tracing.shutdown();
    logger.info('worker stopped');
    if (failed) throw new Error('the worker failed');
  };
  // Draining waits for in-flight deliveries up to the worker's 20 s shutdown grace; the whole stop stays under 30 s.
  const stopNow = stopOnSignals({ name: 'retry-service-worker', stop, graceMs: 28_000 });
  // A worker that stops by itself (fatal error) exits too.
  await service.done.catch((err: unknown) => {
    failed = true;
    logger.error({ err }, 'worker failed');
  });
  await stopNow('the worker stopped');
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
