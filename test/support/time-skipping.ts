import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { registerSearchAttributes } from './search-attributes';
import { scriptedActivities, type Step } from './scripted-activities';

/**
 * One time-skipping server for a test file (started in beforeAll, torn down in afterAll), with the service's search
 * attributes registered. Read `.env` inside tests.
 */
export function useTimeSkipping(): { readonly env: TestWorkflowEnvironment } {
  const holder = {} as { env: TestWorkflowEnvironment };
  beforeAll(async () => {
    holder.env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
    });
    await registerSearchAttributes(holder.env.connection);
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
  const { activities, calls } = scriptedActivities(scripts, serverClock);
  const taskQueue = `${prefix}-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
    maxHeartbeatThrottleInterval: '1 second',
  });
  return { worker, calls, taskQueue };
}
