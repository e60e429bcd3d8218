import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  KeyBehaviour,
  OnDeadLetter,
  OrderingKeyWorkflowType,
  enqueueSignal,
  keyQueueQuery,
  orderingWorkflowId,
  placeOf,
  type QueueEntry,
} from '../domain/ordering';
import { OrderingKeyKey } from '../domain/search-attributes';
import { TaskState, type TaskStatus } from '../domain/status';
import type { Task } from '../domain/task';
import { StatusMemoKey } from '../domain/visibility';
import type { orderingKey } from '../workflows';

/**
 * Puts a started task at the back of its key's queue: signal-with-start of the key workflow (it starts with the first
 * task of a key). A task already queued keeps its place, so a repeated call is harmless. A key workflow never ends by
 * itself, so a closed one was terminated (from the Web UI): if other tasks of the key are still open, the key restarts
 * gathering them (they rejoin at their next check, workflows/ordering-join.ts) before it grants a turn, since a fresh
 * start would let this task overtake them; a key terminated while idle restarts at once.
 */
export async function enqueueOrdered(
  client: Client,
  taskQueue: string,
  task: Task,
  acceptedAt: string | undefined,
): Promise<void> {
  const key = task.ordering_key!;
  const entry: QueueEntry = {
    task_id: task.id,
    on_dead_letter: task.on_dead_letter ?? OnDeadLetter.Continue,
    // Started deferred (client/tasks.ts): the key grants its turn by signal-with-start, which wakes it.
    deferred: true,
    ...(acceptedAt !== undefined ? { accepted_at: acceptedAt } : {}),
  };
  const signalWithStart = (reuse: WorkflowIdReusePolicy, restarted = false) =>
    client.workflow.signalWithStart<typeof orderingKey, [QueueEntry]>(OrderingKeyWorkflowType, {
      taskQueue,
      workflowId: orderingWorkflowId(key),
      args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked, ...(restarted ? { restarted } : {}) }],
      signal: enqueueSignal,
      signalArgs: [entry],
      workflowIdReusePolicy: reuse,
      staticSummary: restarted
        ? `ordering key ${key}: restarted after a termination; gathers its waiting tasks before the first turn`
        : `ordering key ${key}: its tasks are attempted one at a time, in acceptance order`,
    });
  try {
    await signalWithStart(WorkflowIdReusePolicy.REJECT_DUPLICATE);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await signalWithStart(WorkflowIdReusePolicy.ALLOW_DUPLICATE, await othersOpen(client, key, task.id));
  }
}

/** Whether tasks of `key` other than `taskId` are still open (visibility; true when it cannot tell). */
async function othersOpen(client: Client, key: string, taskId: string): Promise<boolean> {
  // Keys and ids follow the id character rules (no quotes); the guard keeps the query well-formed regardless.
  if (/["'\\]/.test(key + taskId)) return true;
  const query = `${OrderingKeyKey.name} = "${key}" AND ExecutionStatus = "Running" AND WorkflowId != "${taskId}"`;
  try {
    return (await client.workflow.count(query)).count > 0;
  } catch {
    return true;
  }
}

/**
 * A resubmission of a task that is still `blocked` (its first submission may have stopped between starting the task
 * and enqueueing it): enqueue it now. A task past its turn is left alone.
 */
export async function enqueueIfBlocked(client: Client, taskQueue: string, task: Task): Promise<void> {
  const desc = await client.workflow.getHandle(task.id).describe();
  const memo = desc.memo?.[StatusMemoKey] as TaskStatus | undefined;
  if (desc.status.name === 'RUNNING' && memo?.state === TaskState.Blocked)
    await enqueueOrdered(client, taskQueue, task, memo.submitted_at);
}

/**
 * A blocked task's status with its place in its key's queue (`position`, `blocked_by`), from the key workflow's
 * query. The place is extra: when the key cannot answer within `timeoutMs` (no worker, terminated key), the task still
 * reports `blocked`, without a place.
 */
export async function withPlace(client: Client, status: TaskStatus, timeoutMs = 5_000): Promise<TaskStatus> {
  if (status.state !== TaskState.Blocked || !status.ordering_key) return status;
  const key = client.workflow.getHandle(orderingWorkflowId(status.ordering_key));
  try {
    const view = await client.withDeadline(Date.now() + timeoutMs, () => key.query(keyQueueQuery));
    const place = placeOf(view, status.task_id);
    return place ? { ...status, ...place } : status;
  } catch {
    return status;
  }
}

/**
 * Runs the calls of one ordering key one after another, in the order they were made (calls without a key at once),
 * so that concurrent starts enqueue tasks of a key in the order they were given.
 */
export function keySequencer() {
  const last = new Map<string, Promise<unknown>>();
  return <T>(key: string | undefined, fn: () => Promise<T>): Promise<T> => {
    if (key === undefined) return fn();
    const next = (last.get(key) ?? Promise.resolve()).then(fn, fn);
    last.set(key, next);
    return next;
  };
}
