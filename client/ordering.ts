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
import { KeyEnqueuer, type EnqueueSlot } from './key-enqueuer';

/**
 * Puts a started task at the back of its key's queue, in `slot` when its place was taken earlier (a batch's item
 * order), else in the next place now. Resolves once the key has it. Enqueues of one key that come while one is on its
 * way go together in the next signal (client/key-enqueuer.ts). A task already queued keeps its place, so a repeated
 * call is harmless.
 */
export function enqueueOrdered(
  client: Client,
  taskQueue: string,
  task: Task,
  acceptedAt: string | undefined,
  slot: EnqueueSlot = enqueuerOf(client, taskQueue).reserve(task.ordering_key!),
): Promise<void> {
  return slot.fill({
    task_id: task.id,
    on_dead_letter: task.on_dead_letter ?? OnDeadLetter.Continue,
    // Started deferred (client/tasks.ts): the key grants its turn by signal-with-start, which wakes it.
    deferred: true,
    ...(acceptedAt !== undefined ? { accepted_at: acceptedAt } : {}),
  });
}

/** The enqueuer of a client and task queue (one per process and queue, so that its group commit sees every call). */
const enqueuers = new WeakMap<Client, Map<string, KeyEnqueuer>>();
export function enqueuerOf(client: Client, taskQueue: string): KeyEnqueuer {
  let byQueue = enqueuers.get(client);
  if (!byQueue) enqueuers.set(client, (byQueue = new Map()));
  let enqueuer = byQueue.get(taskQueue);
  if (!enqueuer) {
    // A signal may carry the entries of several callers: it runs under its own deadline, not under the one of the
    // call that happened to send it.
    const send = (key: string, entries: [QueueEntry, ...QueueEntry[]]) =>
      client.withDeadline(Date.now() + ENQUEUE_DEADLINE_MS, () => signalKey(client, taskQueue, key, entries));
    byQueue.set(taskQueue, (enqueuer = new KeyEnqueuer(send)));
  }
  return enqueuer;
}

/** How long one enqueue signal (with the key's restart, when it was terminated) may take. */
const ENQUEUE_DEADLINE_MS = 10_000;

/**
 * Signal-with-start of the key workflow with `entries` (it starts with the first task of a key). A key workflow never
 * ends by itself, so a closed one was terminated (from the Web UI): if other tasks of the key are still open, the key
 * restarts gathering them (they rejoin at their next check, workflows/ordering-join.ts) before it grants a turn, since
 * a fresh start would let these tasks overtake them; a key terminated while idle restarts at once.
 */
async function signalKey(
  client: Client,
  taskQueue: string,
  key: string,
  entries: [QueueEntry, ...QueueEntry[]],
): Promise<void> {
  const signalWithStart = (reuse: WorkflowIdReusePolicy, restarted = false) =>
    client.workflow.signalWithStart<typeof orderingKey, [QueueEntry, ...QueueEntry[]]>(OrderingKeyWorkflowType, {
      taskQueue,
      workflowId: orderingWorkflowId(key),
      args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked, ...(restarted ? { restarted } : {}) }],
      signal: enqueueSignal,
      signalArgs: entries,
      workflowIdReusePolicy: reuse,
      staticSummary: restarted
        ? `ordering key ${key}: restarted after a termination; gathers its waiting tasks before the first turn`
        : `ordering key ${key}: its tasks are attempted one at a time, in acceptance order`,
    });
  try {
    await signalWithStart(WorkflowIdReusePolicy.REJECT_DUPLICATE);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const ids = entries.map((e) => e.task_id);
    await signalWithStart(WorkflowIdReusePolicy.ALLOW_DUPLICATE, await othersOpen(client, key, ids));
  }
}

/** Whether tasks of `key` other than `taskIds` are still open (visibility; true when it cannot tell). */
async function othersOpen(client: Client, key: string, taskIds: string[]): Promise<boolean> {
  // Keys and ids follow the id character rules (no quotes); the guard keeps the query well-formed regardless. A long
  // list would make a long query: assume others, which costs the restarted key a minute of gathering.
  if (taskIds.length > 20 || /["'\\]/.test(key + taskIds.join(''))) return true;
  const others = taskIds.map((id) => ` AND WorkflowId != "${id}"`).join('');
  const query = `${OrderingKeyKey.name} = "${key}" AND ExecutionStatus = "Running"${others}`;
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
export async function enqueueIfBlocked(
  client: Client,
  taskQueue: string,
  task: Task,
  slot?: EnqueueSlot,
): Promise<void> {
  try {
    const desc = await client.workflow.getHandle(task.id).describe();
    const memo = desc.memo?.[StatusMemoKey] as TaskStatus | undefined;
    if (desc.status.name === 'RUNNING' && memo?.state === TaskState.Blocked)
      await enqueueOrdered(client, taskQueue, task, memo.submitted_at, slot);
  } finally {
    slot?.giveUp();
  }
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
