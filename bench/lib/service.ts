import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { ReleaseGate, createDeliveryDeps } from '../../activities';
import { startWebServer, type WebServer } from '../../api/server';
import { loadConfig, type Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { createLifecycleWiring } from '../../worker/lifecycle';
import { createReleaseWorker, createWorker, runTogether, type WorkerPair } from '../../worker/worker';
import { ourWorkflowBundle } from './bundle';
import type { BenchEnv } from './env';
import { serviceActivities } from '../../worker/activities';

/** Options of {@link startOurService}. */
export interface OurServiceOptions {
  /** Config overrides (platform/config.ts variable names), applied last. */
  config?: Partial<Record<string, string>>;
  /** Task queue; a fresh `bench-<uuid>` by default. */
  taskQueue?: string;
  /** Also start the real API (POST /tasks …) on 127.0.0.1, free port. @default false */
  api?: boolean;
  /** Run the worker. Off to measure intake alone (workflows start, nothing runs them). @default true */
  worker?: boolean;
  /** A prebuilt bundle of workflows/ (tests pass the run's); otherwise bundled once per process. */
  workflowBundlePath?: string;
}

/** Our service, in process: the real worker (and API) on a task queue of its own. */
export interface OurService {
  /** Base URL of the API when `api` was asked for. */
  apiUrl?: string;
  taskQueue: string;
  /** The config the worker and API run with. */
  config: Config;
  /** Settles when the worker stops; rejects with its error if it fails (never settles without a worker). */
  workerDone: Promise<void>;
  /** Lead-time release in milliseconds, as startTask should be given it (config RELEASE_LEAD_SECONDS). */
  releaseLeadMs: number;
  /** How late the worker's release gate let each armed delivery go, milliseconds (emptied by the caller). */
  releaseLateness: number[];
  stop(): Promise<void>;
}

/**
 * The bench's config: the process environment (so `WORKER_MAX_CONCURRENT_ACTIVITIES=400 npm run bench …` tunes a
 * run), then what a benchmark needs (loopback receivers past the SSRF guard, quiet logs, no metrics port, the env's
 * Kafka), then `overrides`.
 */
export function benchConfig(env: BenchEnv, taskQueue: string, overrides: Partial<Record<string, string>> = {}): Config {
  const ssrfAllow = [process.env.SSRF_ALLOW, '127.0.0.1'].filter(Boolean).join(',');
  return loadConfig({
    LOG_LEVEL: 'error',
    ...process.env,
    TASK_QUEUE: taskQueue,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    WORKER_METRICS_PORT: '0',
    SSRF_ALLOW: ssrfAllow,
    INGRESS_ENABLED: 'false',
    ...(env.kafkaBrokers ? { KAFKA_BROKERS: env.kafkaBrokers.join(',') } : {}),
    ...overrides,
  });
}

/**
 * Starts our real worker — createDeliveryDeps + createActivities + createWorker, as worker/service.ts does — and
 * optionally the real API (api/server.ts startWebServer with the env's client), in this process, on a unique task
 * queue. SSRF_ALLOW includes 127.0.0.1 so the local {@link BenchReceiver} is reachable.
 */
export async function startOurService(env: BenchEnv, opts: OurServiceOptions = {}): Promise<OurService> {
  const taskQueue = opts.taskQueue ?? `bench-${randomUUID()}`;
  const config = benchConfig(env, taskQueue, opts.config);
  const logger = createLogger(config.LOG_LEVEL, 'bench-service');
  const metrics = createMetrics();
  let worker: Worker | undefined;
  let workers: WorkerPair | undefined;
  let running: Promise<void> | undefined;
  const releaseLateness: number[] = [];
  let deps: ReturnType<typeof createDeliveryDeps> | undefined;
  let api: WebServer | undefined;
  try {
    if (opts.worker ?? true) {
      deps = createDeliveryDeps({ config, logger, metrics });
      const gate = new ReleaseGate(
        Date.now,
        (latenessMs, count) => {
          for (let i = 0; i < count; i++) releaseLateness.push(latenessMs);
        },
        config.RELEASE_BURST_HOLD_MS,
      );
      const options = {
        connection: env.nativeConnection,
        namespace: env.namespace,
        config,
        logger,
        // As worker/service.ts (lifecycle notifications are inert unless NOTIFY_* is set).
        activities: serviceActivities({
          deps,
          gate,
          client: env.client,
          namespace: env.namespace,
          logger,
          lifecycle: createLifecycleWiring({ client: env.client, config, logger }),
        }),
        taskQueue,
      };
      worker = await createWorker({
        ...options,
        workflowBundlePath: opts.workflowBundlePath ?? (await ourWorkflowBundle()),
      });
      workers = runTogether([worker, await createReleaseWorker(options)]);
      running = workers.done;
      running.catch((err: unknown) => console.error('bench: our worker stopped with an error', err));
    }
    if (opts.api) {
      api = await startWebServer({ config, logger, client: env.client, metrics, namespace: env.namespace });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function stopAll() {
    await api?.stop();
    workers?.shutdown();
    await running;
    await deps?.close();
  }
  let stopping: Promise<void> | undefined;
  return {
    apiUrl: api?.url,
    taskQueue,
    config,
    workerDone: running ?? new Promise<void>(() => undefined),
    releaseLeadMs: config.RELEASE_LEAD_SECONDS * 1000,
    releaseLateness,
    stop: () => (stopping ??= stopAll()),
  };
}
