import path from 'node:path';
import {
  Runtime,
  Worker,
  bundleWorkflowCode,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Activities } from '../activities';
import type { OrderingActivities } from '../activities/ordering';
import { otelWorkflowInterceptorModule, type Tracing } from '../platform/tracing';
import { releaseQueueOf } from '../domain/series';

/** What every retry worker runs: the delivery activities and the ordered tasks' hand-off (createOrderingActivities). */
export type WorkerActivities = Activities & OrderingActivities;

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: Config;
  logger: Logger;
  activities: WorkerActivities;
  /** A prebuilt workflow bundle (tests, production builds); otherwise the workflows folder is bundled at start. */
  workflowBundlePath?: string;
  /** A bundle made ahead of time in this process ({@link bundleWorkflows}), e.g. while the servers start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  taskQueue?: string;
  /** OpenTelemetry interceptors and sinks (platform/tracing.ts); off when omitted. */
  tracing?: Tracing;
}

const workflowsPath = path.resolve(__dirname, '../workflows');

/**
 * Bundles the workflows (webpack, seconds of CPU) ahead of {@link createWorker}, with the tracing interceptor module
 * when tracing is on — what Worker.create would otherwise do itself once connected. `npm start` runs it while its
 * servers start.
 */
export function bundleWorkflows(tracing?: Tracing): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: tracing?.enabled ? [otelWorkflowInterceptorModule] : [],
    logger: Runtime.instance().logger,
  });
}

/**
 * The activity-only worker of the release queue (domain/series.ts releaseQueueOf): armed deliveries wait in its
 * slots until their due instant, so it has many (RELEASE_MAX_ARMED) and shares the activities (and so the release
 * gate) of the main worker.
 */
export async function createReleaseWorker(
  opts: Omit<CreateWorkerOptions, 'workflowBundlePath' | 'workflowBundle'>,
): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: releaseQueueOf(opts.taskQueue ?? opts.config.TASK_QUEUE),
    activities: opts.activities,
    ...opts.tracing?.workerOptions({ workflowModules: false }),
    maxConcurrentActivityTaskExecutions: opts.config.RELEASE_MAX_ARMED,
    // Pollers scale with the server's backlog hints: a burst of armed deliveries is taken up at once, and on a task
    // queue with several partitions no partition's backlog waits for a long poll elsewhere to end.
    activityTaskPollerBehavior: { type: 'autoscaling', minimum: 2, initial: 8, maximum: 64 },
    shutdownGraceTime: '20s',
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

/** The worker that runs retry workflows and delivery activities on the task queue. */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = opts.workflowBundlePath
    ? { workflowBundle: { codePath: opts.workflowBundlePath } }
    : opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? opts.config.TASK_QUEUE,
    ...workflows,
    activities: opts.activities,
    ...opts.tracing?.workerOptions({ workflowModules: !opts.workflowBundlePath && !opts.workflowBundle }),
    maxConcurrentActivityTaskExecutions: opts.config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: opts.config.WORKER_MAX_CACHED_WORKFLOWS,
    // Delivery activities heartbeat; on shutdown give in-flight deliveries time to finish.
    shutdownGraceTime: '20s',
    // Heartbeats reach the server at least every 2 s, so a cancel reaches an in-flight delivery within ~2 s
    // (the default throttles to 0.8 × heartbeatTimeout).
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}

/** Workers that live and die together: the task-queue worker and its release-queue worker. */
export interface WorkerPair {
  /** Settles when every worker has stopped; rejects with the first one's error. */
  readonly done: Promise<void>;
  /** Shuts down those still running (idempotent). */
  shutdown(): void;
}

/** Runs `workers` together: when one stops (shutdown or fatal error), the others are shut down too. */
export function runTogether(workers: readonly Worker[]): WorkerPair {
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const runs = workers.map((w) => w.run().finally(shutdown));
  return { done: Promise.all(runs).then(() => undefined), shutdown };
}
