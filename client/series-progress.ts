import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { statusQuery } from '../domain/messages';
import { MAX_ATTEMPT_LOG, SeriesActivityIdPrefix, withSeriesProgress, type SeriesProgress } from '../domain/series';
import { TaskState, type TaskStatus } from '../domain/status';

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/**
 * The progress of the task's running attempt series, read from the pending activity's last heartbeat details
 * (domain/series.ts). `activityId` picks one series; otherwise the newest pending series is used. Undefined when no
 * series is pending or it has not heartbeated yet.
 */
export function seriesProgressOf(
  pending: readonly PendingActivity[] | null | undefined,
  activityId?: string,
): SeriesProgress | undefined {
  const series = (pending ?? []).filter((a) =>
    activityId ? a.activityId === activityId : a.activityId?.startsWith(SeriesActivityIdPrefix),
  );
  const newest = series.at(-1);
  const payload = newest?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<SeriesProgress>(payload);
}

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

/** Queries a running task's status and merges the live series progress ({@link withLiveProgress}). */
export async function readLiveStatus(handle: WorkflowHandle): Promise<TaskStatus> {
  const [status, desc] = await Promise.all([handle.query(statusQuery), handle.describe()]);
  return withLiveProgress(status, desc);
}
