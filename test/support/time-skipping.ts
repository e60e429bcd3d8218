import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { createOrderingActivities } from '../../activities/ordering';
import { readLiveStatus } from '../../client/series-progress';
import type { TaskStatus } from '../../domain/status';
import { registerSearchAttributes } from './search-attributes';
import { scriptedActivities, type Step } from './scripted-activities';

/** A time-skipping test server (the run's binary) with the task search attributes registered. */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection);
  return env;
}

/**
 * A worker of the run's workflow bundle on `taskQueue` with these activities (heartbeats sent within a second), and
 * the ordering hand-off, which calls the test server as the service's does.
 */
export function bundleWorker(env: TestWorkflowEnvironment, taskQueue: string, activities: object): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: { ...createOrderingActivities(env.client), ...activities },
    maxHeartbeatThrottleInterval: '1 second',
  });
}

/**
 * One time-skipping server for a test file (started in beforeAll, torn down in afterAll), with the service's search
 * attributes registered. Read `.env` inside tests.
 */
export function useTimeSkipping(): { readonly env: TestWorkflowEnvironment } {
  const holder = {} as { env: TestWorkflowEnvironment };
  beforeAll(async () => {
    holder.env = await startTimeSkippingEnv();
  });
  afterAll(async () => {
    await holder.env?.teardown();
  });
  return holder;
}

/** A worker on a fresh task queue (prefix `prefix`) running the bundled workflows with scripted activities. */
export async function scriptedWorker(
  env: TestWorkflowEnvironment,
  scripts: Record<string, { primary?: Step[]; deadLetter?: Step[] }>,
  prefix: string,
  serverClock?: () => Promise<number>,
) {
  // The series hands an ordered task's turn on as the service's does (behaviour SeriesHandOff).
  const { handOffTurn } = createOrderingActivities(env.client);
  const { activities, calls } = scriptedActivities(scripts, serverClock, handOffTurn);
  const taskQueue = `${prefix}-${randomUUID()}`;
  const worker = await bundleWorker(env, taskQueue, activities);
  return { worker, calls, taskQueue };
}

/**
 * Waits until the status of `handle` (with the live progress of a running series) satisfies `pred`, skipping
 * `stepMs` of workflow time per look and pausing briefly in real time so the worker can run what became due.
 */
export async function untilStatus(
  env: TestWorkflowEnvironment,
  handle: WorkflowHandle,
  pred: (s: TaskStatus) => boolean,
  stepMs: number,
): Promise<TaskStatus> {
  let last: TaskStatus | undefined;
  let failure: unknown;
  for (let i = 0; i < 1_000; i++) {
    try {
      last = await readLiveStatus(handle);
      if (pred(last)) return last;
    } catch (err) {
      // A task started deferred without a status memo (a bare start) cannot answer until it first runs.
      failure = err;
    }
    await env.sleep(stepMs);
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`condition never met; last status: ${JSON.stringify(last)}; last failure: ${String(failure)}`);
}
