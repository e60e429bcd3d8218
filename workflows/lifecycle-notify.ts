import { isCancellation, log, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/lifecycle-events';
import type { JobProgress } from '../domain/jobs';
import { isNotificationTask } from '../domain/notifications';
import { parkedStateOf } from './dead-letter-phase';
import type { RetryTaskState } from './task-state';

// Local: reporting is one quick signal from the worker that runs the workflow (a marker in the history, no task).
const { notifyTaskDeadLettered, notifyJobEnded } = proxyLocalActivities<NotificationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Whether a dead-lettered task reports it: notification tasks do not (no loop); histories from before did not. */
export function reportsDeadLettered(state: RetryTaskState): boolean {
  return !isNotificationTask(state.task) && patched('notify-dead-lettered');
}

/**
 * Reports a task that was just dead-lettered (task.dead_lettered, or task.dead_letter_failed when its dead
 * destination did not take the message). A failed report never fails the task. `reports`: decided by the caller
 * before its local activities (retry-task.ts); runs before that decide it here.
 */
export async function notifyDeadLettered(state: RetryTaskState, reports?: boolean): Promise<void> {
  const { task, status } = state;
  if (!(reports ?? reportsDeadLettered(state))) return;
  await notifyTaskDeadLettered({
    task_id: task.id,
    state: parkedStateOf(state),
    destination: task.destination,
    reason: status.dead_letter?.reason ?? 'exhausted',
    attempts: status.attempt,
  }).catch(notReported);
}

/** Reports a bulk job that just finished (job.completed). Histories recorded before this step replay without it. */
export async function notifyJobFinished(progress: JobProgress): Promise<void> {
  if (!patched('notify-job-completed')) return;
  await notifyJobEnded(progress).catch(notReported);
}

function notReported(err: unknown): void {
  if (isCancellation(err)) throw err;
  log.warn('lifecycle event not reported', { error: String(err) });
}
