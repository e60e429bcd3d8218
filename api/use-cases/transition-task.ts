import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import {
  cancelUpdate,
  InvalidTransitionType,
  requeueUpdate,
  retryNowUpdate,
  type TransitionResult,
} from '../../domain/messages';
import type { RequeueOverrides } from '../../domain/task';
import { receiverAckUpdate, type ReceiverAnswer } from '../../domain/ack';
import type { TaskNotFoundError } from '../errors';
import { ConflictError } from '../errors';
import { readLiveStatus } from '../../client/series-progress';
import { describeTask } from './get-task';
import { withDeadline, type ApiDeps } from './deps';

/**
 * The SDK's executeUpdate overloads reject definitions whose one argument is optional (`[CancelRequest?]`); this
 * views them as one-argument definitions, which is what is sent anyway.
 */
const withArg = <A>(def: UpdateDefinition<TransitionResult, [A?]>) =>
  def as unknown as UpdateDefinition<TransitionResult, [A]>;

export type Transition =
  | { kind: 'cancel'; reason?: string }
  | { kind: 'requeue'; overrides?: RequeueOverrides; reason?: string }
  | { kind: 'retry_now' }
  /** The receiver's ack or nack, its token already checked (use-cases/receiver-ack.ts). */
  | { kind: 'receiver_ack'; answer: ReceiverAnswer };

/**
 * Asks the task's workflow for a transition through its update (so the answer is synchronous). The workflow's
 * validator rejects an invalid one with an `InvalidTransition` failure → 409 with the reason and current state;
 * a closed task cannot transition → 409; an unknown id → 404.
 */
export async function transitionTask(deps: ApiDeps, taskId: string, t: Transition): Promise<TransitionResult> {
  const handle = deps.client.workflow.getHandle(taskId);
  try {
    const result = await withDeadline(deps, () => {
      switch (t.kind) {
        case 'cancel':
          return handle.executeUpdate(withArg(cancelUpdate), { args: [{ reason: t.reason }] });
        case 'requeue':
          return handle.executeUpdate(withArg(requeueUpdate), { args: [{ overrides: t.overrides, reason: t.reason }] });
        case 'retry_now':
          return handle.executeUpdate(retryNowUpdate, { args: [] });
        case 'receiver_ack':
          return handle.executeUpdate(receiverAckUpdate, { args: [t.answer] });
      }
    });
    if (t.kind !== 'receiver_ack') {
      deps.metrics.taskTransitions.inc({ state: t.kind === 'requeue' ? 'requeued' : result.state });
    }
    deps.logger.info({ task_id: taskId, transition: t.kind, ...result }, 'task transition');
    return result;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && isInvalidTransition(err.cause)) {
      throw new ConflictError(err.cause.message, {
        task_id: taskId,
        state: await currentState(deps, taskId, err.cause),
      });
    }
    if (err instanceof WorkflowNotFoundError) throw await closedOrMissing(deps, taskId);
    throw err;
  }
}

function isInvalidTransition(cause: unknown): cause is ApplicationFailure {
  return cause instanceof ApplicationFailure && cause.type === InvalidTransitionType;
}

/** The state named in the failure's details, or else the one the workflow reports now. */
async function currentState(deps: ApiDeps, taskId: string, failure: ApplicationFailure): Promise<string | undefined> {
  const detail = failure.details?.[0] as { state?: unknown } | undefined;
  if (typeof detail?.state === 'string') return detail.state;
  try {
    const status = await withDeadline(deps, () => readLiveStatus(deps.client.workflow.getHandle(taskId)));
    return status.state;
  } catch {
    return undefined;
  }
}

/** Temporal answers "not found" for closed executions too; tell the two apart for the client. */
async function closedOrMissing(deps: ApiDeps, taskId: string): Promise<ConflictError | TaskNotFoundError> {
  const desc = await describeTask(deps, taskId); // throws TaskNotFoundError when there is no such task
  return new ConflictError(`task ${taskId} is closed (${desc.status.name.toLowerCase()}) and cannot change`, {
    task_id: taskId,
    workflow_status: desc.status.name,
  });
}

/** Ends a task for good: terminates its workflow (no dead-letter delivery, no further attempts). */
export async function terminateTask(deps: ApiDeps, taskId: string, reason?: string) {
  const desc = await describeTask(deps, taskId);
  if (desc.status.name !== 'RUNNING') {
    throw new ConflictError(`task ${taskId} is already closed (${desc.status.name.toLowerCase()})`, {
      task_id: taskId,
      workflow_status: desc.status.name,
    });
  }
  try {
    await withDeadline(deps, () =>
      deps.client.workflow.getHandle(taskId, desc.runId).terminate(reason ?? 'terminated through the API'),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw await closedOrMissing(deps, taskId);
    throw err;
  }
  deps.metrics.taskTransitions.inc({ state: 'terminated' });
  deps.logger.info({ task_id: taskId, run_id: desc.runId, reason }, 'task terminated');
  return { taskId, runId: desc.runId };
}
