import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ReleaseGate, createDeliveryDeps } from '../activities';
import { createIngress, ingressOptionsFromConfig, type Ingress } from '../ingress/consumer';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/metrics';
import { temporalConnectConfig } from '../platform/temporal';
import type { Tracing } from '../platform/tracing';
import { startMetricsServer } from '../platform/metrics-server';
import { createLifecycleWiring } from './lifecycle';
import { createReleaseWorker, createWorker, runTogether } from './worker';
import { destinationPausesFromConfig } from './destination-pauses';
import { serviceActivities } from './activities';

export interface WorkerService {
  /** Resolves when the worker has stopped (after {@link WorkerService.stop} or a fatal error). */
  readonly done: Promise<void>;
  /** URL of the worker's /metrics, when WORKER_METRICS_PORT is set. */
  readonly metricsUrl?: string;
  readonly ingress?: Ingress;
  /** Drains: the ingress commits and leaves, in-flight deliveries finish, pools close, connections close. */
  stop(): Promise<void>;
}

export interface StartWorkerServiceOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  tracing?: Tracing;
  /** Where the Runtime's Prometheus exporter listens (see installRuntime). */
  sdkMetricsUrl?: string;
  /** The workflow bundle, when it was started ahead (bundleWorkflows); otherwise the worker bundles at creation. */
  workflowBundle?: Promise<WorkflowBundleWithSourceMap>;
}

/**
 * The worker process: delivery dependencies, the worker on TASK_QUEUE, the Kafka ingress when INGRESS_ENABLED, and
 * the metrics endpoint. Used by `npm run worker` and by `npm start`.
 */
export async function startWorkerService(opts: StartWorkerServiceOptions): Promise<WorkerService> {
  const { config, logger, metrics } = opts;
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  // Bulk jobs' activities call Temporal as a client (they requeue or cancel tasks); so does the Kafka ingress, and so
  // does the view of paused destinations.
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({
    connection: clientConnection,
    namespace,
    interceptors: opts.tracing?.clientInterceptors,
  });
  const pauses = destinationPausesFromConfig(config, client, logger);
  await pauses.start();
  // Lifecycle notifications (inert unless NOTIFY_WEBHOOK_URL or NOTIFY_KAFKA_TOPIC is set).
  const lifecycle = createLifecycleWiring({ client, config, logger, metrics });
  const deps = createDeliveryDeps({
    config,
    logger,
    metrics,
    destinationEvents: pauses,
    onCircuitChange: lifecycle.onCircuitChange,
    lifecycle: lifecycle.emitter,
  });
  const gate = new ReleaseGate(
    Date.now,
    (latenessMs, count) => {
      for (let i = 0; i < count; i++) metrics.releaseLateness.observe(latenessMs / 1000);
    },
    config.RELEASE_BURST_HOLD_MS,
  );
  const workerOptions = {
    connection,
    namespace,
    config,
    logger,
    activities: serviceActivities({ deps, gate, client, namespace, logger, lifecycle }),
    tracing: opts.tracing,
  };
  // WORKFLOW_BUNDLE_PATH (a prebuilt release) wins over a bundle made ahead in this process.
  const worker = await createWorker({
    ...workerOptions,
    workflowBundlePath: config.WORKFLOW_BUNDLE_PATH,
    workflowBundle: config.WORKFLOW_BUNDLE_PATH ? undefined : await opts.workflowBundle,
  });
  // Armed deliveries (lead-time release) wait in this worker's slots; it shares the activities and their gate.
  const releaseWorker = await createReleaseWorker(workerOptions);
  metrics.readArmedFrom(() => gate.stats().armed);

  let ingress: Ingress | undefined;
  if (config.INGRESS_ENABLED) {
    ingress = createIngress(ingressOptionsFromConfig(config, { client, logger, metrics }));
    await ingress.start();
    logger.info({ topics: ingress.topics.length }, 'Kafka ingress consuming');
  }

  const metricsServer = config.WORKER_METRICS_PORT
    ? await startMetricsServer(metrics.registry, config.WORKER_METRICS_PORT, opts.sdkMetricsUrl)
    : undefined;

  const workers = runTogether([worker, releaseWorker]);
  const done = workers.done.finally(async () => {
    gate.close();
    pauses.close();
    await deps.close();
    await connection.close();
    await clientConnection.close();
  });
  logger.info({ taskQueue: config.TASK_QUEUE, namespace }, 'worker polling');

  let stopping: Promise<void> | undefined;
  return {
    done,
    metricsUrl: metricsServer?.url,
    ingress,
    stop: () =>
      (stopping ??= (async () => {
        // Stop taking new work first, then let what is in flight finish.
        await ingress?.stop();
        workers.shutdown();
        await done;
        await metricsServer?.close();
      })()),
  };
}
