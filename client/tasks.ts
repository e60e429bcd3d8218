import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { retryTask } from '../workflows';
import { describeDestination, priorityKeyOf, type Task } from '../domain/task';
import { waitBeforeAttemptMs } from '../domain/backoff';
import { StatusMemoKey, WorkflowBehaviour, startingStatus } from '../domain/visibility';
import { releaseQueueOf } from '../domain/series';
import { DEFERRED_START_MS, waitingDetails } from '../domain/ordering';
import { TaskState } from '../domain/status';
import type { EnqueueSlot } from './key-enqueuer';
import { enqueueIfBlocked, enqueueOrdered } from './ordering';
import {
  AttemptKey,
  ClientIdKey,
  DestinationTypeKey,
  IsPriorityKey,
  NextAttemptAtKey,
  OrderingKeyKey,
  TaskSourceKey,
  TaskStatusKey,
} from '../domain/search-attributes';

/** Thrown when a task id is already in use by a running (or parked) task. */
export class TaskAlreadyExistsError extends Error {
  constructor(
    public readonly taskId: string,
    public readonly runId?: string,
  ) {
    super(`task ${taskId} already exists and is still open`);
  }
}

/** Optional start settings; the defaults suit the API. */
export interface StartTaskOptions {
  /**
   * What to do when a *closed* workflow already has the task id. The Kafka ingress passes `REJECT_DUPLICATE`, so a
   * re-consumed message whose task already finished is reported as {@link TaskAlreadyExistsError} instead of running
   * again. @default WorkflowIdReusePolicy.ALLOW_DUPLICATE
   */
  reusePolicy?: WorkflowIdReusePolicy;
  /** Lead-time release, milliseconds (RELEASE_LEAD_SECONDS); 0 or absent: every wait is a plain workflow timer. */
  releaseLeadMs?: number;
  /**
   * An ordered task's place in its key's enqueue order, taken by the caller before the start (a batch's item order):
   * the task is enqueued there. The caller gives it up (`giveUp`) once it stops trying to start the task; absent, the
   * task takes the next place once started.
   */
  enqueueSlot?: EnqueueSlot;
}

export interface StartedTask {
  taskId: string;
  runId: string;
}

/**
 * Starts the retry workflow for a validated task: workflow id = task id, so a second start of an open task fails
 * with {@link TaskAlreadyExistsError}. A closed task's id may be used again (a new run starts; the old run's history
 * stays readable until the namespace retention ends). Used by the API and the Kafka ingress alike.
 */
export async function startTask(
  client: Client,
  taskQueue: string,
  task: Task,
  options: StartTaskOptions = {},
): Promise<StartedTask> {
  // Lean behaviour: the task starts with the status it rests in until its first attempt (memo + search attributes),
  // so the workflow writes nothing more for it unless something changes.
  const nowMs = Date.now();
  const waitMs = waitBeforeAttemptMs(task, 1, nowMs, task.jitter === 'none' ? 0 : 0.5);
  const starting = startingStatus(
    task,
    new Date(nowMs).toISOString(),
    waitMs > 0 ? new Date(nowMs + waitMs).toISOString() : undefined,
    describeDestination(task.destination),
  );
  // An ordered task starts blocked; its key workflow lets it proceed in turn (client/ordering.ts).
  if (task.ordering_key !== undefined) {
    Object.assign(starting, {
      state: TaskState.Blocked,
      next_attempt_at: undefined,
      ordering_key: task.ordering_key,
      details: waitingDetails(task.ordering_key),
    });
  }
  try {
    const handle = await client.workflow.start<typeof retryTask>('retryTask', {
      taskQueue,
      workflowId: task.id,
      args: [
        {
          task,
          behaviour: WorkflowBehaviour.SeriesHandOff,
          ...(options.releaseLeadMs
            ? { release: { lead_ms: options.releaseLeadMs, task_queue: releaseQueueOf(taskQueue) } }
            : {}),
        },
      ],
      memo: { [StatusMemoKey]: starting },
      // An ordered task runs its first workflow task when its turn comes (the grant wakes it), or after the delay.
      ...(task.ordering_key !== undefined ? { startDelay: DEFERRED_START_MS } : {}),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: options.reusePolicy ?? WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      priority: { priorityKey: priorityKeyOf(task) },
      staticSummary: `${task.destination_type} → ${describeDestination(task.destination)} · from ${task.source} (client ${task.client_id})`,
      // Shown in the Web UI before a deferred task has run (it has no current details until then).
      ...(task.ordering_key !== undefined
        ? { staticDetails: `ordered: attempted in acceptance order on ordering key ${task.ordering_key}` }
        : {}),
      typedSearchAttributes: new TypedSearchAttributes([
        { key: TaskStatusKey, value: starting.state },
        { key: DestinationTypeKey, value: task.destination_type },
        { key: ClientIdKey, value: task.client_id },
        { key: TaskSourceKey, value: task.source },
        { key: AttemptKey, value: 0 },
        ...(starting.next_attempt_at ? [{ key: NextAttemptAtKey, value: new Date(starting.next_attempt_at) }] : []),
        { key: IsPriorityKey, value: task.is_priority },
        ...(task.ordering_key !== undefined ? [{ key: OrderingKeyKey, value: task.ordering_key }] : []),
      ]),
    });
    // Started, then enqueued: the key's order is the order in which starters got here. After a crash in between,
    // the task enqueues itself a minute later (workflows/ordering-join.ts), or at once when submitted again (below).
    if (task.ordering_key !== undefined)
      await enqueueOrdered(client, taskQueue, task, starting.submitted_at, options.enqueueSlot);
    return { taskId: task.id, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      if (task.ordering_key !== undefined) await enqueueIfBlocked(client, taskQueue, task, options.enqueueSlot);
      throw new TaskAlreadyExistsError(task.id);
    }
    throw err;
  }
}

/** A handle on a task's workflow (latest run). */
export function taskHandle(client: Client, taskId: string): WorkflowHandle<typeof retryTask> {
  return client.workflow.getHandle(taskId);
}
