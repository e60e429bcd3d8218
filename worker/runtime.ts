import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

const levels: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/**
 * Installs the Temporal Runtime once per process: SDK and Core logs routed into pino, and, when the worker serves
 * metrics (WORKER_METRICS_PORT), the SDK's own worker metrics exported in Prometheus format on loopback
 * WORKER_SDK_METRICS_PORT. Returns that exporter's URL for the worker's /metrics to append. Must run before the
 * first NativeConnection is created.
 */
export function installRuntime(
  logger: Logger,
  config: Pick<Config, 'LOG_LEVEL' | 'WORKER_METRICS_PORT' | 'WORKER_SDK_METRICS_PORT'>,
): string | undefined {
  const sdkMetricsAddress = config.WORKER_METRICS_PORT ? `127.0.0.1:${config.WORKER_SDK_METRICS_PORT}` : undefined;
  const sdkLevel = levels[config.LOG_LEVEL] ?? 'INFO';
  const sdkLogger = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    // The process entry points handle SIGINT/SIGTERM themselves, to stop things in order.
    shutdownSignals: [],
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const meta = { ...entry.meta };
      const method =
        entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      sdkLogger[method](meta, entry.message);
    }),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: sdkLevel === 'TRACE' ? 'TRACE' : 'WARN' }) },
      ...(sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } : {}),
    },
  });
  return sdkMetricsAddress ? `http://${sdkMetricsAddress}/metrics` : undefined;
}
