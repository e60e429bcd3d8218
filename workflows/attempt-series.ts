import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeliveryReceipt } from '../domain/delivery';
import type { TurnHandOff } from '../domain/ordering';
import {
  SeriesActivityIdPrefix,
  SeriesEndedType,
  failedAttempt,
  type SeriesEnded,
  type SeriesProgress,
  type SeriesResult,
} from '../domain/series';
import type { DeadLetterReason } from '../domain/status';
import { DestinationPausedType, type DestinationPausedDetails } from '../domain/destination-pause';
import { classifiedFromFailure } from '../domain/failures';
import type { TaskActivities } from './activity-proxies';
import type { Interrupt, RetryTaskState } from './task-state';

export type SeriesOutcome =
  | { kind: 'delivered'; receipt: DeliveryReceipt }
  | { kind: 'ended'; reason: DeadLetterReason }
  /** The destination is paused: nothing was sent and no attempt counted (workflows/pause-phase.ts). */
  | { kind: 'paused'; paused: DestinationPausedDetails }
  | { kind: 'interrupted'; by: Interrupt | 'cancel' };

type Settled = { ok: true; r: SeriesResult } | { ok: false; err: unknown };

/**
 * Runs attempts `firstAttempt`… as one activity whose Temporal retries are the task's retries (domain/series.ts);
 * merges its attempt log into the status when it ends. A cancel, requeue or retry-now first reads the series' live
 * progress (local activity), then cancels it, so no log line or attempt count is lost. `detached` is a
 * non-cancellable scope: a cancel of the task must not reach the series before its progress has been read.
 */
export async function runSeries(
  state: RetryTaskState,
  acts: TaskActivities,
  detached: CancellationScope,
  firstAttempt: number,
  releaseAtMs?: number,
  released?: boolean,
): Promise<SeriesOutcome> {
  const activityId = state.nextSeriesId(SeriesActivityIdPrefix);
  const deadline = state.deadlineMs();
  const seriesScope = new CancellationScope({ cancellable: true, parent: detached });
  // The outcome lands in a variable that one condition watches with the interrupts: no Promise.race, whose wrappers
  // cost the SDK a stack capture per promise (it captures one for every workflow promise).
  let settled: Settled | undefined;
  // An armed series runs in a worker of the release queue: the workflow hands the turn on after it, as before.
  const handOff = releaseAtMs === undefined ? state.seriesHandOff?.request() : undefined;
  void seriesScope
    .run(() => acts.deliverSeries(activityId, firstAttempt, deadline, releaseAtMs, released, handOff))
    .then(
      (r) => {
        settled = { ok: true, r };
      },
      (err: unknown) => {
        settled = { ok: false, err };
      },
    );
  // In the non-cancellable `detached` scope: a cancel of the task must not end the wait before progress is read.
  const until = (done: () => boolean) => detached.run(() => condition(done));
  state.seriesRunning = true;
  try {
    for (;;) {
      await until(() => settled !== undefined || state.interrupt !== undefined || state.cancelRequested);
      if (settled) return seriesSettled(state, settled, handOff);
      const by: Interrupt | 'cancel' = state.cancelRequested ? 'cancel' : state.interrupt!;
      const { workflowId, runId } = workflowInfo();
      const progress = await CancellationScope.nonCancellable(() =>
        // An armed series in the same worker is released at once (retry-now) or held back (cancel, requeue).
        acts.readSeriesProgress(
          workflowId,
          runId,
          activityId,
          releaseAtMs !== undefined ? (by === 'retry_now' ? 'release_now' : 'hold') : undefined,
        ),
      );
      // Retry-now of a series armed in another worker process: it is released at its due time (see README).
      if (by === 'retry_now' && (progress === null || progress.in_flight || progress.armed_until)) {
        // An attempt is being made right now (or has not started yet): nothing to skip.
        state.interrupt = undefined;
        continue;
      }
      seriesScope.cancel();
      await until(() => settled !== undefined);
      const outcome = settled!;
      if (outcome.ok || !isCancellation(outcome.err)) return seriesSettled(state, outcome, handOff);
      if (progress) state.mergeSeries(progress, true);
      return { kind: 'interrupted', by };
    }
  } finally {
    state.seriesRunning = false;
  }
}

/** Merges a finished series into the status. */
function seriesSettled(state: RetryTaskState, outcome: Settled, handOff?: TurnHandOff): SeriesOutcome {
  if (outcome.ok) {
    if (handOff && outcome.r.handed_off) state.seriesHandOff?.done(outcome.r.handed_off, handOff);
    state.mergeSeries(outcome.r.progress, false);
    return { kind: 'delivered', receipt: outcome.r.receipt };
  }
  const cause = outcome.err instanceof ActivityFailure ? outcome.err.cause : outcome.err;
  if (cause instanceof ApplicationFailure && cause.type === SeriesEndedType) {
    const end = cause.details?.[0] as SeriesEnded;
    state.mergeSeries(end.progress, false);
    return { kind: 'ended', reason: end.reason };
  }
  if (cause instanceof ApplicationFailure && cause.type === DestinationPausedType) {
    const details = cause.details as [DestinationPausedDetails, SeriesProgress];
    state.mergeSeries(details[1], false);
    return { kind: 'paused', paused: details[0] };
  }
  if (isCancellation(outcome.err)) return { kind: 'interrupted', by: 'cancel' };
  // Only a failure outside the series' own classification gets here (e.g. an activity timeout with retries
  // exhausted by the server): treat it as the last attempt having failed.
  const failure = classifiedFromFailure(outcome.err, 0);
  const { status } = state;
  status.attempt = Math.max(status.attempt, 1);
  status.last_error = failure.message;
  state.record(failedAttempt(status.attempt, 'primary', new Date(Date.now()).toISOString(), failure, 0));
  return { kind: 'ended', reason: 'exhausted' };
}
