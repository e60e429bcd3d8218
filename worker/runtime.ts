import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
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
 * Installs the Temporal Runtime once per process: SDK and Core logs routed into pino, and the SDK's own worker
 * metrics exported in Prometheus format on `sdkMetricsAddress` (scraped through the worker's /metrics).
 * Must run before the first NativeConnection is created.
 */
export function installRuntime(logger: Logger, level: string, sdkMetricsAddress?: string): void {
  const sdkLevel = levels[level] ?? 'INFO';
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
}
