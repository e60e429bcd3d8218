import { patched } from '@temporalio/workflow';
import { recordsDeadLetteredAt } from './dead-letter-phase';
import { notifyDeadLettered, reportsDeadLettered } from './lifecycle-notify';
import type { OrderingTurn } from './ordering-turn';
import type { RetryTaskState } from './task-state';

/** Where a dead-lettered task's park starts from: its end, and (when decided already) whether it records its start. */
export interface ParkEntry {
  parkedUntil: string;
  recordAt?: boolean;
}

/**
 * Between the dead-letter phase and the park: hands an ordered task's turn on and reports the task (both local
 * activities). Every patch of the path is decided before them. Replay resumes the code after a local activity in the
 * workflow task that scheduled it; when the activity had finished just after a workflow task heartbeat, the code ran
 * live in the next workflow task, and a patch marker recorded there is not yet known at that point of the replay
 * (TMPRL1100). Runs from before this decided them after the activities, and replay as they were recorded.
 */
export async function enterPark(state: RetryTaskState, ordering: OrderingTurn | undefined): Promise<ParkEntry> {
  const retentionEnd = () => new Date(Date.now() + state.task.park_retention * 1000).toISOString();
  if (!patched('park-decided-before-local-activities')) {
    if (ordering) await ordering.end('dead_lettered');
    await notifyDeadLettered(state);
    return { parkedUntil: retentionEnd() };
  }
  const parkedUntil = retentionEnd();
  const recordAt = recordsDeadLetteredAt(state, parkedUntil);
  const reports = reportsDeadLettered(state);
  if (ordering) await ordering.end('dead_lettered');
  await notifyDeadLettered(state, reports);
  return { parkedUntil, recordAt };
}
