import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { createLogger } from '../../platform/logger';
import { createWorker, type WorkerActivities } from '../../worker/worker';
import { baselineWorkflowBundle } from '../lib/bundle';
import type { BenchEnv } from '../lib/env';
import { benchConfig } from '../lib/service';
import { createBaselineActivities, type BaselineRecorder } from './activities';

/** A worker running the comparison workflows (bench/baseline/workflows.ts). */
export interface BaselineWorker {
  taskQueue: string;
  /** Settles when the worker stops; rejects with its error if it fails. */
  workerDone: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the comparison workflows on their own task queue with the SAME worker options as ours: it goes through
 * worker/worker.ts `createWorker` itself (same config → same maxConcurrentActivityTaskExecutions, shutdown grace,
 * heartbeat throttle, and whatever the worker gains later, e.g. cache size or eager dispatch), only with the
 * baseline bundle and activities. The cast is the price of reusing that function: it types `activities` as ours.
 */
export async function startBaselineWorker(
  env: BenchEnv,
  opts: { record?: BaselineRecorder; config?: Partial<Record<string, string>>; taskQueue?: string } = {},
): Promise<BaselineWorker> {
  const taskQueue = opts.taskQueue ?? `bench-baseline-${randomUUID()}`;
  const config = benchConfig(env, taskQueue, opts.config);
  const worker: Worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace,
    config,
    logger: createLogger(config.LOG_LEVEL, 'bench-baseline'),
    activities: createBaselineActivities(opts.record) as unknown as WorkerActivities,
    workflowBundlePath: await baselineWorkflowBundle(),
    taskQueue,
  });
  const running = worker.run();
  running.catch((err: unknown) => console.error('bench: baseline worker stopped with an error', err));
  let stopping: Promise<void> | undefined;
  return {
    taskQueue,
    workerDone: running,
    stop: () =>
      (stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      })()),
  };
}
