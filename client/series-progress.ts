import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../domain/messages';
import { MAX_ATTEMPT_LOG, SeriesActivityIdPrefix, withSeriesProgress } from '../domain/series';
import { seriesProgressOf } from '../domain/series-progress';
import { TaskState, type TaskStatus } from '../domain/status';
import { StatusMemoKey } from '../domain/visibility';

export { seriesProgressOf } from '../domain/series-progress';

/**
 * The task status as the workflow reports it, with the live progress of a running attempt series merged in (the
 * workflow itself learns it only when the series ends): attempt count, log lines, and whether the task is
 * delivering or waiting for its next attempt (and when).
 */
export function withLiveProgress(status: TaskStatus, desc: Pick<WorkflowExecutionDescription, 'raw'>): TaskStatus {
  // An armed series (lead-time release) runs while the workflow reports `scheduled`.
  if (status.state !== TaskState.Delivering && status.state !== TaskState.Scheduled) return status;
  const progress = seriesProgressOf(desc.raw.pendingActivities);
  return progress ? withSeriesProgress(status, progress, MAX_ATTEMPT_LOG, true) : status;
}

/**
 * A running lean task's status without asking its workflow (no replay, no worker needed): the status memo it
 * rests with (domain/visibility.ts), merged with the live progress of a pending attempt series.
 */
export function statusFromDescription(
  memo: TaskStatus,
  desc: Pick<WorkflowExecutionDescription, 'raw'>,
  nowMs = Date.now(),
): TaskStatus {
  const pending = desc.raw.pendingActivities ?? [];
  if (!pending.some((a) => a.activityId?.startsWith(SeriesActivityIdPrefix))) return memo;
  const progress = seriesProgressOf(pending);
  if (progress) return withSeriesProgress({ ...memo, state: TaskState.Delivering }, progress, MAX_ATTEMPT_LOG, true);
  // Armed until its due time (lead-time release), else its first delivery is in flight.
  if (memo.next_attempt_at && Date.parse(memo.next_attempt_at) > nowMs) return memo;
  return {
    ...memo,
    state: TaskState.Delivering,
    next_attempt_at: undefined,
    details: `attempt ${memo.attempt + 1}/${memo.max_attempts} in flight`,
  };
}

/**
 * Queries a running task's status and merges the live series progress ({@link withLiveProgress}). A task whose memo
 * says `blocked` answers from it, without a query: an ordered task started deferred has run no workflow task yet and
 * cannot answer one (domain/ordering.ts DEFERRED_START_MS).
 */
export async function readLiveStatus(handle: WorkflowHandle): Promise<TaskStatus> {
  const desc = await handle.describe();
  const memo = desc.memo?.[StatusMemoKey] as TaskStatus | undefined;
  if (memo?.state === TaskState.Blocked && desc.status.name === 'RUNNING') return statusFromDescription(memo, desc);
  return withLiveProgress(await handle.query(statusQuery), desc);
}
