import { CancelledFailure, type CancellationScope, workflowInfo } from '@temporalio/workflow';
import { boundedRetryAfterMs, waitBeforeAttemptMs } from '../domain/backoff';
import { describeDestination } from '../domain/destination';
import { TaskState, type DeadLetterReason } from '../domain/status';
import { deliveringDetails } from '../domain/visibility';
import type { TaskActivities } from './activity-proxies';
import { runSeries } from './attempt-series';
import { pausePhase } from './pause-phase';
import { ackTimeoutFor, awaitPrimaryAck, type ReceiverAcks } from './receiver-ack';
import type { RetryTaskState } from './task-state';

/** Why the delivery phase ended without success. */
export interface GiveUp {
  reason: DeadLetterReason;
}

/**
 * The delivery phase: the wait before this run's first attempt (a workflow timer: tier, deliver_at, backoff or
 * Retry-After, shown in the history and the Web UI), then attempt series until success (undefined), giving up (the
 * reason) or a requeue (undefined, with the requeue pending). Later waits are held by the server inside a series.
 * `dueAtMs` replaces the computed first wait (ordered tasks, whose turn may come after their own due time).
 */
export async function deliverPhase(
  state: RetryTaskState,
  acts: TaskActivities,
  detached: CancellationScope,
  firstAttempt: number,
  retryAfterMs: number | undefined,
  immediate: boolean,
  acks: ReceiverAcks,
  dueAtMs?: number,
): Promise<GiveUp | undefined> {
  const { task, status } = state;
  if (firstAttempt > task.max_retries) return { reason: 'exhausted' };
  const deadline = state.deadlineMs();
  let waitMs = immediate ? 0 : waitBeforeAttemptMs(task, firstAttempt, Date.now(), Math.random());
  if (retryAfterMs !== undefined) waitMs = boundedRetryAfterMs(retryAfterMs, task.max_delay);
  // An ordered task's first attempt: its own due time, or at once if its turn came later.
  if (dueAtMs !== undefined) waitMs = Math.max(0, dueAtMs - Date.now());
  const nextAt = Date.now() + waitMs;
  if (deadline !== undefined && nextAt > deadline) return { reason: 'max_duration' };
  // No wait (deliver_at now, requeue, retry-now carried over): straight to delivering, one search-attribute
  // update fewer per task (they are visibility writes on the server).
  if (waitMs > 0) {
    const nextIso = new Date(nextAt).toISOString();
    if (status.attempt === 0 && firstAttempt === 1) {
      state.transition(TaskState.Scheduled, `attempt 1/${task.max_retries} at ${nextIso}`, nextIso);
    } else {
      const last = status.last_status_code ? `HTTP ${status.last_status_code}` : (status.last_error ?? 'failed');
      state.transition(
        TaskState.Waiting,
        `attempt ${firstAttempt - 1}/${task.max_retries} failed: ${last} — next at ${nextIso}`,
        nextIso,
      );
    }
  }
  // Lead-time release: the delivery is armed in a worker a lead before its due time (at once for a shorter wait)
  // and released there at the due millisecond; the engine's latency is spent before the due time, not after it.
  // Only starters that know the release queue pass `release`, so histories without it replay unchanged.
  const leadMs = state.release?.lead_ms ?? 0;
  let releaseAtMs = leadMs > 0 && waitMs > 0 ? nextAt : undefined;
  const timerMs = releaseAtMs !== undefined ? waitMs - leadMs : waitMs;
  // No wait (first try at once): no call, so no promise (the SDK captures a stack for every workflow promise).
  const interrupted =
    timerMs > 0
      ? await state.wait(
          timerMs,
          releaseAtMs !== undefined
            ? `wait, then arm attempt ${firstAttempt}/${task.max_retries} due ${new Date(nextAt).toISOString()}`
            : `wait before attempt ${firstAttempt}/${task.max_retries}`,
        )
      : state.interrupt;
  if (interrupted === 'requeue') return undefined;
  if (interrupted === 'retry_now') {
    state.interrupt = undefined;
    releaseAtMs = undefined;
  }

  // Set by a destination's resume: the next series' first delivery is not held back by a worker's stale pause view.
  let released = false;
  for (let next = firstAttempt; ;) {
    if (next > task.max_retries) return { reason: 'exhausted' };
    if (releaseAtMs !== undefined) {
      // Same state and search attributes as during the wait (no visibility write): the details say it is armed.
      state.showArmed(
        `armed in a worker, attempt ${next}/${task.max_retries} due ${new Date(releaseAtMs).toISOString()}`,
      );
    } else {
      state.transition(
        TaskState.Delivering,
        deliveringDetails(next, task.max_retries, describeDestination(task.destination)),
      );
    }
    const outcome = await runSeries(state, acts, detached, next, releaseAtMs, released);
    releaseAtMs = undefined;
    released = false;
    if (outcome.kind === 'delivered') {
      // Destinations with ack_timeout: the 2xx counts once the receiver acks it (workflows/receiver-ack.ts).
      const ackTimeout = ackTimeoutFor(task.destination);
      if (ackTimeout === undefined) return undefined;
      const after = await awaitPrimaryAck(state, acks, ackTimeout);
      if (after.kind === 'give_up') return { reason: after.reason };
      if (after.kind !== 'next') return undefined;
      next = status.attempt + 1;
      if (workflowInfo().continueAsNewSuggested) {
        await state.continueWith({ phase: 'deliver', next_attempt: next, immediate: true });
      }
      continue;
    }
    if (outcome.kind === 'ended') return { reason: outcome.reason };
    if (outcome.kind === 'paused') {
      // Waits for the destination's resume; then the next attempt starts at once (its due time has passed).
      await pausePhase(state, outcome.paused);
      released = true;
      next = status.attempt + 1;
      if (workflowInfo().continueAsNewSuggested) {
        await state.continueWith({ phase: 'deliver', next_attempt: next, immediate: true });
      }
      continue;
    }
    if (outcome.by === 'cancel') throw new CancelledFailure(state.cancelReason ?? 'workflow cancellation requested');
    if (outcome.by === 'requeue') return undefined;
    // Retry-now: the next attempt starts at once, in a new series.
    state.interrupt = undefined;
    next = status.attempt + 1;
    if (workflowInfo().continueAsNewSuggested) {
      await state.continueWith({ phase: 'deliver', next_attempt: next, immediate: true });
    }
  }
}
