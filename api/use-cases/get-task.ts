import { WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { withPlace } from '../../client/ordering';
import { statusFromDescription, withLiveProgress } from '../../client/series-progress';
import { StatusMemoKey } from '../../domain/visibility';
import { statusQuery } from '../../domain/messages';
import { isDestinationType } from '../../domain/destination';
import { DestinationTypeKey, TaskStatusKey } from '../../domain/search-attributes';
import type { TaskStatus } from '../../domain/status';
import { TaskNotFoundError } from '../errors';
import type { TaskStatusResponse } from '../schemas';
import { withDeadline, type ApiDeps } from './deps';

/** Describes the task's latest run, or throws {@link TaskNotFoundError}. */
export async function describeTask(deps: ApiDeps, taskId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await withDeadline(deps, () => deps.client.workflow.getHandle(taskId).describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new TaskNotFoundError(taskId);
    throw err;
  }
}

/** Temporal's execution status name for the closed states that carry no TaskStatus result. */
const closedWithoutResult: Record<string, 'terminated' | 'failed' | 'timed_out' | 'cancelled'> = {
  TERMINATED: 'terminated',
  FAILED: 'failed',
  TIMED_OUT: 'timed_out',
  CANCELLED: 'cancelled',
};

/**
 * The task's status: the workflow's `status` query while it is open, its recorded result after it completed. A task
 * ended without a result (DELETE terminates) reports `terminated` with what visibility last recorded.
 */
export async function getTaskStatus(deps: ApiDeps, taskId: string): Promise<TaskStatusResponse> {
  const desc = await describeTask(deps, taskId);
  const workflow = {
    run_id: desc.runId,
    status: desc.status.name,
    start_time: desc.startTime.toISOString(),
    ...(desc.closeTime ? { close_time: desc.closeTime.toISOString() } : {}),
  };
  const handle = deps.client.workflow.getHandle(taskId, desc.runId, { followRuns: false });
  if (desc.status.name === 'RUNNING') {
    // Lean tasks rest with their status in the memo: no query, so no replay and no worker needed.
    const memo = desc.memo?.[StatusMemoKey] as TaskStatus | undefined;
    // A blocked task's place in its key's queue comes from the key workflow.
    if (memo) return { ...(await withPlace(deps.client, statusFromDescription(memo, desc))), workflow };
    // The workflow learns its attempt series' progress when the series ends; the live one is on the pending activity.
    const status: TaskStatus = withLiveProgress(await withDeadline(deps, () => handle.query(statusQuery)), desc);
    return { ...(await withPlace(deps.client, status)), workflow };
  }
  if (desc.status.name === 'COMPLETED') {
    const status = (await withDeadline(deps, () => handle.result())) as TaskStatus;
    return { ...status, workflow };
  }
  const destinationType = desc.typedSearchAttributes.get(DestinationTypeKey);
  const lastState = desc.typedSearchAttributes.get(TaskStatusKey);
  return {
    task_id: taskId,
    state: closedWithoutResult[desc.status.name] ?? 'failed',
    ...(isDestinationType(destinationType) ? { destination_type: destinationType } : {}),
    details: `workflow ${desc.status.name.toLowerCase()}${lastState ? ` while ${lastState}` : ''}`,
    workflow,
  };
}
