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

/**
 * Reports a task that was just dead-lettered (task.dead_lettered, or task.dead_letter_failed when its dead
 * destination did not take the message). Notification tasks report nothing (no loop), and a failed report never
 * fails the task. Histories recorded before this step replay without it.
 */
export async function notifyDeadLettered(state: RetryTaskState): Promise<void> {
  const { task, status } = state;
  if (isNotificationTask(task) || !patched('notify-dead-lettered')) return;
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
