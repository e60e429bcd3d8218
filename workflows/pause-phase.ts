import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import {
  destinationLeaveSignal,
  destinationWaitSignal,
  destinationWorkflowId,
  type DestinationPausedDetails,
} from '../domain/destination-pause';
import { TaskState } from '../domain/status';
import type { RetryTaskState } from './task-state';

/**
 * The task's attempt found its destination paused (nothing sent, no attempt counted): the task enters `paused`,
 * registers with the destination's control workflow (workflows/destination-control.ts) and waits for its release
 * signal, which comes once the destination resumes, in due order and paced. The time spent here moves the task's
 * max_duration deadline. A cancel ends the wait (the work scope is cancelled); requeue and retry-now are refused
 * while paused.
 */
export async function pausePhase(state: RetryTaskState, paused: DestinationPausedDetails): Promise<void> {
  // Only histories that reached a paused destination take this path; the marker keeps later changes apart.
  if (!patched('pause-destination')) return;
  const { status, task } = state;
  const startedMs = Date.now();
  const key = paused.destination_key;
  state.released = false;
  state.transition(
    TaskState.Paused,
    `destination ${key} is paused; attempt ${status.attempt + 1}/${task.max_retries} waits for its resume`,
  );
  const control = getExternalWorkflowHandle(destinationWorkflowId(workflowInfo().taskQueue, key));
  try {
    await control.signal(destinationWaitSignal, { task_id: task.id, due_at_ms: paused.due_at_ms });
  } catch (err) {
    // No control workflow (it was terminated): nothing holds the destination, so the task goes on at once.
    log.warn('paused destination has no control workflow; attempting again', { key, error: String(err) });
    state.released = true;
  }
  try {
    await condition(() => state.released);
  } catch (err) {
    // Cancelled while waiting: the destination stops counting it (histories from before this left silently).
    if (isCancellation(err) && patched('pause-leave-on-cancel')) {
      await CancellationScope.nonCancellable(() =>
        control.signal(destinationLeaveSignal, { task_id: task.id }).catch(() => undefined),
      );
    }
    throw err;
  }
  status.paused_ms = (status.paused_ms ?? 0) + (Date.now() - startedMs);
}
