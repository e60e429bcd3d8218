import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { TaskInput, type TaskRequest } from '../../domain/task';
import { DEFERRED_START_MS, orderingWorkflowId } from '../../domain/ordering';
import { TaskState, type TaskStatus } from '../../domain/status';
import { WorkflowBehaviour } from '../../domain/visibility';
import { startTask } from '../../client/tasks';
import type { retryTask } from '../../workflows';
import type { Step } from '../support/scripted-activities';
import { scriptedWorker, untilStatus } from '../support/time-skipping';

/** Helpers of the ordered-delivery workflow tests (test/workflows/ordering*.test.ts). */

export type Handle = WorkflowHandle<typeof retryTask>;

/** Fields every task of these tests shares; each test names the id and what it changes. */
const common = {
  source: 'order-service',
  client_id: 'client-001',
  destination_type: 'http',
  destination: { url: 'https://receiver.example/hook' },
  max_retries: 3,
  base_delay: 10,
} as const;
export const task = (id: string, overrides: Partial<TaskRequest> = {}) =>
  ({ ...common, id, message_data: `{"id": "${id}"}`, ...overrides }) as TaskRequest;

export interface WorkerCtx {
  start: (t: TaskRequest) => Promise<Handle>;
  /**
   * Starts the task's workflow only, as a starter that stopped before enqueueing it would have left it; with the
   * service's behaviour version unless `behaviour` says otherwise (undefined: the initial one, as earlier starters).
   */
  startOnly: (t: TaskRequest, behaviour?: WorkflowBehaviour) => Promise<Handle>;
  calls: Awaited<ReturnType<typeof scriptedWorker>>['calls'];
  taskQueue: string;
}

/**
 * Runs `body` with a worker whose activities follow `scripts`; tasks start through the real starter (startTask:
 * start, then signal-with-start of the key). Whatever is still open at the end is terminated.
 */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  scripts: Record<string, { primary?: Step[]; deadLetter?: Step[] }>,
  body: (ctx: WorkerCtx) => Promise<T>,
): Promise<T> {
  const { worker, calls, taskQueue } = await scriptedWorker(env, scripts, 'ord');
  const ids: string[] = [];
  const start = async (t: TaskRequest) => {
    const parsed = TaskInput.parse(t);
    await startTask(env.client, taskQueue, parsed);
    ids.push(parsed.id, ...(parsed.ordering_key ? [orderingWorkflowId(parsed.ordering_key)] : []));
    return env.client.workflow.getHandle<typeof retryTask>(parsed.id);
  };
  const startOnly = async (
    t: TaskRequest,
    behaviour: WorkflowBehaviour | undefined = WorkflowBehaviour.SeriesHandOff,
  ) => {
    const parsed = TaskInput.parse(t);
    const args = [{ task: parsed, ...(behaviour !== undefined ? { behaviour } : {}) }];
    // Chain tasks start deferred, as the service starts them (client/tasks.ts).
    const deferred = (behaviour ?? 0) >= WorkflowBehaviour.Chain ? { startDelay: DEFERRED_START_MS } : {};
    await env.client.workflow.start('retryTask', { taskQueue, workflowId: parsed.id, args, ...deferred });
    ids.push(parsed.id, orderingWorkflowId(parsed.ordering_key!));
    return env.client.workflow.getHandle<typeof retryTask>(parsed.id);
  };
  return worker.runUntil(async () => {
    try {
      return await body({ start, startOnly, calls, taskQueue });
    } finally {
      for (const id of new Set(ids)) {
        await env.client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
  });
}

/** Skips workflow time until the status of `handle` satisfies `pred`. */
export const until = (env: TestWorkflowEnvironment, handle: Handle, pred: (s: TaskStatus) => boolean, stepMs = 5_000) =>
  untilStatus(env, handle, pred, stepMs);

export const done = (s: TaskStatus) => s.state === TaskState.Succeeded;
export const parked = (s: TaskStatus) => s.state === TaskState.DeadLettered;
/** Task ids in the order their primary attempts ran. */
export const delivered = (calls: { req: { task_id: string; kind: string } }[]) =>
  calls.filter((c) => c.req.kind === 'primary').map((c) => c.req.task_id);
