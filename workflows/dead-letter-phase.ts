import { condition, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { FailureContext } from '../domain/delivery';
import { describeDestination, destinationTopic } from '../domain/destination';
import { DeadLetteredAtKey } from '../domain/search-attributes';
import { failedAttempt } from '../domain/series';
import { AttemptOutcome, TaskState, type DeadLetterReason } from '../domain/status';
import { classifiedFromFailure } from '../domain/failures';
import type { TaskActivities } from './activity-proxies';
import { ackTimeoutFor, type ReceiverAcks } from './receiver-ack';
import type { RetryTaskState } from './task-state';

/** Sends the message to the dead destination, if any (its own bounded policy); records how that went. */
export async function deadLetterPhase(
  state: RetryTaskState,
  acts: TaskActivities,
  reason: DeadLetterReason,
  acks: ReceiverAcks,
): Promise<void> {
  const { task, status } = state;
  const failureContext: FailureContext = {
    reason,
    attempts: status.attempt,
    last_error: status.last_error,
    last_status_code: status.last_status_code,
    first_attempt_at: status.first_attempt_at,
    last_attempt_at: status.last_attempt_at,
    original_destination: describeDestination(task.destination),
    original_topic: destinationTopic(task.destination),
  };
  const dead = task.dead_destination ?? undefined;
  if (!dead) {
    status.dead_letter = { reason, delivered: false };
    return;
  }
  state.transition(TaskState.DeadLettering, `${reason}: sending to dead destination ${describeDestination(dead)}`);
  const startedAt = Date.now();
  const ackTimeout = ackTimeoutFor(dead);
  try {
    acks.deadLetterSending = ackTimeout !== undefined;
    const receipt = await acts.deliverDeadLetter(dead, failureContext).finally(() => (acks.deadLetterSending = false));
    state.record({
      number: 1,
      target: 'dead_letter',
      started_at: new Date(startedAt).toISOString(),
      duration_ms: receipt.duration_ms,
      outcome: AttemptOutcome.Success,
      status_code: receipt.status_code,
    });
    if (ackTimeout !== undefined) {
      // The dead destination asked for acknowledgement: without an ack it did not take the message (parked, kept).
      const got = receipt.status_code ? `HTTP ${receipt.status_code}` : '2xx';
      const target = { target: 'dead_letter', round: status.requeues, attempt: 1 } as const;
      const verdict = await acks.wait(target, ackTimeout, `${reason}: ${got} from the dead destination`);
      if (verdict.kind !== 'acked') {
        status.dead_letter = { reason, delivered: false };
        if (verdict.kind === 'failed') status.last_error = `dead destination: ${verdict.message}`;
        return;
      }
    }
    status.dead_letter = { reason, delivered: true, delivered_at: new Date(Date.now()).toISOString() };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failure = classifiedFromFailure(err, Date.now() - startedAt);
    // Duration over all of the dead-letter policy's tries.
    state.record(failedAttempt(1, 'dead_letter', new Date(startedAt).toISOString(), failure, Date.now() - startedAt));
    status.dead_letter = { reason, delivered: false };
    status.last_error = `dead destination: ${failure.message}`;
  }
}

/** The parked state a dead-lettered task is in: dead_letter_failed when its dead destination did not take it. */
export function parkedStateOf({
  task,
  status,
}: RetryTaskState): typeof TaskState.DeadLettered | typeof TaskState.DeadLetterFailed {
  return task.dead_destination && status.dead_letter?.delivered === false
    ? TaskState.DeadLetterFailed
    : TaskState.DeadLettered;
}

/**
 * Whether the park records when the task was dead-lettered (DeadLetteredAt, for the bulk filters' time range): its
 * retention counts from then. A park resumed in a new run finds it already set; histories from before it did not
 * record it (patch).
 */
export function recordsDeadLetteredAt(state: RetryTaskState, parkedUntil: string): boolean {
  const deadLetteredAt = deadLetteredAtOf(state, parkedUntil).getTime();
  const recorded = workflowInfo().typedSearchAttributes.get(DeadLetteredAtKey);
  const fresh = !Number.isNaN(deadLetteredAt) && recorded?.getTime() !== deadLetteredAt;
  return fresh && patched('dead-lettered-at');
}

/** When a task parked until `parkedUntil` was dead-lettered: its retention counts from then. */
function deadLetteredAtOf({ task }: RetryTaskState, parkedUntil: string): Date {
  return new Date(Date.parse(parkedUntil) - task.park_retention * 1000);
}

/**
 * Parks until requeue (true), cancel or the end of the retention (false). `recordAt`: decided by the caller before
 * its local activities (retry-task.ts); runs before that decide it here.
 */
export async function parkPhase(state: RetryTaskState, parkedUntil: string, recordAt?: boolean): Promise<boolean> {
  const { task, status } = state;
  const parkedState = parkedStateOf(state);
  if (status.dead_letter) status.dead_letter.parked_until = parkedUntil;
  const where = status.dead_letter?.delivered
    ? `sent to ${describeDestination(task.dead_destination!)}`
    : parkedState === TaskState.DeadLetterFailed
      ? 'dead destination failed; message kept here'
      : 'no dead destination; message kept here';
  state.transition(
    parkedState,
    `dead-lettered (${status.dead_letter?.reason ?? 'exhausted'}) after ${status.attempt} attempt(s): ${where}; parked until ${parkedUntil}`,
  );
  if (recordAt ?? recordsDeadLetteredAt(state, parkedUntil)) {
    upsertSearchAttributes([{ key: DeadLetteredAtKey, value: deadLetteredAtOf(state, parkedUntil) }]);
  }
  for (;;) {
    const remaining = Date.parse(parkedUntil) - Date.now();
    if (remaining <= 0) return false;
    // Wake up at least daily to check the history size; a long park may need a fresh run.
    const requeued = await condition(() => state.interrupt === 'requeue', Math.min(remaining, 24 * 3600_000), {
      summary: `parked until ${parkedUntil}`,
    });
    if (requeued) return true;
    if (workflowInfo().continueAsNewSuggested) await state.continueWith({ phase: 'park', parked_until: parkedUntil });
  }
}
