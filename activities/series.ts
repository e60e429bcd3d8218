import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { DeliveryReceipt, DeliveryRequest } from '../domain/delivery';
import { DeliveryFailureType, internalFailure, toApplicationFailure, type ClassifiedFailure } from '../domain/failures';
import {
  MAX_ATTEMPT_LOG,
  SeriesEndedType,
  appendBounded,
  armedKeyOf as armedKeyOfIds,
  failedAttempt,
  initialProgress,
  outcomeUnknownAttempt,
  nextStepAfterFailure,
  type SeriesEnded,
  type SeriesProgress,
  type SeriesRequest,
  type SeriesResult,
} from '../domain/series';
import type { TurnHandOff, TurnHandOffResult } from '../domain/ordering';
import { AttemptOutcome, type AttemptRecord } from '../domain/status';
import { seriesProgressOf } from '../domain/series-progress';
import { DeliveryError, DestinationPausedError } from '../destinations/delivery-error';
import { DestinationPausedType, type DestinationPausedDetails } from '../domain/destination-pause';
import { heartbeatWith } from './in-flight';
import type { GateCommand, GateExit, ReleaseGate } from './release-gate';

/** One delivery attempt: resolves with a receipt or throws the classified DeliveryError (domain/failures.ts). */
export type DeliverOnce = (req: DeliveryRequest) => Promise<DeliveryReceipt>;

/**
 * The attempt-series activity (domain/series.ts) around a single-attempt deliverer. Each Temporal attempt makes one
 * delivery: on success it returns the receipt and the series' log; on a retryable failure or a circuit deferral it
 * stores the log in its heartbeat details and fails with `nextRetryDelay` = the wait the task's policy asks for, so
 * the server holds the wait; on a permanent failure, after the last attempt or past max_duration it fails
 * non-retryably with {@link SeriesEndedType} and a {@link SeriesEnded}.
 */
export function createSeriesActivity(deliverOnce: DeliverOnce, gate?: ReleaseGate, handOff?: HandOff) {
  return async function deliverSeries(req: SeriesRequest): Promise<SeriesResult> {
    const ctx = Context.current();
    const { info } = ctx;
    const t0 = performance.now();
    const carried = info.heartbeatDetails as SeriesProgress | undefined;
    // Times are the server's, not this machine's: when it scheduled this attempt, or when the attempt was planned if
    // that is later (the time-skipping test server stamps a retry when it decides it, and its clock is not ours).
    const startMs = Math.max(
      info.currentAttemptScheduledTimestampMs,
      carried?.next_attempt_at ? Date.parse(carried.next_attempt_at) : 0,
    );
    const nowMs = () => startMs + Math.round(performance.now() - t0);
    const iso = (ms: number) => new Date(ms).toISOString();

    let progress: SeriesProgress = carried ?? initialProgress(req.first_attempt);
    // Crash honesty: the 'in flight' mark is heartbeated just before each send, so a Temporal attempt that died
    // without reporting either left it (outcome unknown: the destination may have the message; counted) or did not
    // (never started: it died before the send, e.g. its worker was killed while the task waited; not counted).
    const neverStarted = info.attempt - 1 - progress.temporal_attempt;
    if (neverStarted > 0) {
      ctx.log.warn('attempts ended before sending (worker lost); not counted against max_retries', {
        temporal_attempts: neverStarted,
      });
    }
    // Marked in flight (just before its send, or ahead of its due instant when armed): outcome unknown, counted.
    const lost = progress.in_flight
      ? { attempt: progress.attempt, at: progress.last_attempt_at }
      : progress.sends_at
        ? { attempt: progress.attempt + 1, at: progress.sends_at }
        : undefined;
    if (lost) {
      const unknown = outcomeUnknownAttempt(lost.attempt, lost.at ?? iso(nowMs()));
      ctx.log.warn('attempt outcome unknown (worker lost mid-delivery); counted against max_retries', {
        attempt: lost.attempt,
      });
      progress = {
        ...progress,
        attempt: lost.attempt,
        in_flight: false,
        sends_at: undefined,
        attempts: appendBounded(progress.attempts, [unknown], MAX_ATTEMPT_LOG),
        last_error: unknown.error,
        last_status_code: undefined,
      };
      const endReason =
        progress.attempt >= req.max_attempts
          ? 'exhausted'
          : req.deadline_ms !== undefined && nowMs() > req.deadline_ms
            ? 'max_duration'
            : undefined;
      if (endReason) {
        throw ended({
          reason: endReason,
          progress,
          failure: { error_class: unknown.error_class!, duration_ms: 0, message: unknown.error! },
        });
      }
    }

    // A delivery released with a burst reports its outcome once the burst's sends have finished (release-gate.ts).
    let burstKey: string | undefined;
    let sendMarked = false;
    if (req.release_at_ms !== undefined && Date.now() < req.release_at_ms) {
      ({ progress, sendMarked } = await armed(ctx, gate, req.release_at_ms, progress));
      burstKey = gate ? armedKeyOf(ctx) : undefined;
    } else if (req.release_at_ms !== undefined && info.attempt === 1) {
      // Armed after its due time (the engine was behind): it goes at once, and the gate counts how late.
      await gate?.wait(armedKeyOf(ctx), req.release_at_ms);
    }
    const send: DeliverOnce =
      burstKey === undefined ? deliverOnce : (r) => deliverOnce(r).finally(() => gate!.afterSend(burstKey));

    const beforeSend = progress;
    const attempt = progress.attempt + 1;
    const startedMs = nowMs();
    progress = {
      ...progress,
      attempt,
      temporal_attempt: info.attempt,
      in_flight: true,
      next_attempt_at: undefined,
      circuit_open_until: undefined,
      armed_until: undefined,
      first_attempt_at: progress.first_attempt_at ?? iso(startedMs),
      last_attempt_at: iso(startedMs),
    };
    // An armed delivery was marked ahead of its instant: its burst sends without a heartbeat each.
    if (!sendMarked) heartbeatWith(progress);
    let receipt: DeliveryReceipt;
    try {
      // The release from a pause holds for the series' first delivery only.
      receipt = await send({
        ...req.delivery,
        attempt,
        released: attempt === req.first_attempt && req.delivery.released,
      });
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      if (err instanceof DestinationPausedError) {
        // Nothing sent, nothing counted: the workflow waits for the resume (workflows/pause-phase.ts).
        const unsent = { ...beforeSend, temporal_attempt: info.attempt };
        // Due when the server was to retry it (a loaded worker may start attempts late and out of order).
        const dueMs = beforeSend.next_attempt_at ? Date.parse(beforeSend.next_attempt_at) : startMs;
        throw pausedFailure({ destination_key: err.destinationKey, due_at_ms: dueMs }, unsent);
      }
      const failure = classified(err, Math.round(performance.now() - t0));
      const step = nextStepAfterFailure(req, attempt, failure, nowMs(), Math.random());
      const deferred = failure.type === DeliveryFailureType.CircuitOpen;
      progress = {
        ...progress,
        attempt: deferred ? attempt - 1 : attempt,
        in_flight: false,
        attempts: appendBounded(
          progress.attempts,
          [failedAttempt(attempt, 'primary', iso(startedMs), failure, failure.details.duration_ms)],
          MAX_ATTEMPT_LOG,
        ),
        ...(deferred ? {} : { last_error: failure.message, last_status_code: failure.details.status_code }),
      };
      if (step.kind === 'end') {
        throw ended({ reason: step.reason, progress, failure: { ...failure.details, message: failure.message } });
      }
      const nextAt = iso(nowMs() + step.waitMs);
      progress = { ...progress, next_attempt_at: nextAt, circuit_open_until: deferred ? nextAt : undefined };
      heartbeatWith(progress);
      throw toApplicationFailure(failure, step.waitMs);
    }
    const success: AttemptRecord = {
      number: attempt,
      target: 'primary',
      started_at: iso(startedMs),
      duration_ms: receipt.duration_ms,
      outcome: AttemptOutcome.Success,
      status_code: receipt.status_code,
    };
    progress = {
      ...progress,
      in_flight: false,
      attempts: appendBounded(progress.attempts, [success], MAX_ATTEMPT_LOG),
      last_status_code: receipt.status_code ?? progress.last_status_code,
    };
    const handedOff = req.hand_off && handOff ? await handTurnOn(ctx, handOff, req.hand_off) : undefined;
    return { receipt, progress, ...(handedOff ? { handed_off: handedOff } : {}) };
  };
}

/** Hands an ordered task's turn on (activities/ordering.ts `handOffTurn`): the series' request asks for it. */
export type HandOff = (req: TurnHandOff) => Promise<TurnHandOffResult>;

/**
 * The longest a series waits for its hand-off before it reports without it (the workflow then hands on itself). Short:
 * no heartbeat is sent meanwhile, and the last one the server recorded may be up to 12 s old (the SDK throttles
 * heartbeats to 80 % of the 15 s heartbeat timeout), so a longer wait could time the delivered attempt out.
 */
const HAND_OFF_TIMEOUT_MS = 2_000;

/**
 * The turn of an ordered task whose delivery just succeeded, handed on from here so that the workflow needs no local
 * activity (and no workflow task for its result) after the series. A failure is not the delivery's: the series reports
 * without it, and the workflow hands on by its local activity. A hand-off made twice (this attempt retried after a
 * lost worker, or made here and again by the workflow) is harmless: a task ignores a second grant of a turn it holds,
 * and one that let its key go passes it on.
 */
async function handTurnOn(ctx: Context, handOff: HandOff, req: TurnHandOff): Promise<TurnHandOffResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      handOff(req),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), HAND_OFF_TIMEOUT_MS))),
    ]);
    if (!result) ctx.log.warn(`hand-off of the turn took over ${HAND_OFF_TIMEOUT_MS} ms; the workflow hands it on`);
    return result;
  } catch (err) {
    ctx.log.warn('hand-off of the turn failed; the workflow hands it on', { error: String(err) });
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** An armed delivery's in-flight mark is written this long before its due instant, plus up to MARK_SPREAD_MS. */
export const MARK_BEFORE_MS = 1_000;
/** Spread of the marks of one burst, so they reach the server over two seconds rather than at once. */
export const MARK_SPREAD_MS = 2_000;

/**
 * Waits in the release gate until `releaseAtMs` (lead-time release). Heartbeats once at a random point of the lead
 * (marking the series armed), so a cancel requested through the server reaches an armed delivery held by another
 * worker process; the workflow's local activity reaches one in this process at once ({@link createReadSeriesProgress}).
 * Then, 1–3 s before the instant, heartbeats the in-flight mark (`sends_at`), so that at the instant a burst only
 * sends: a thousand heartbeats at the instant cost the server and the worker more than the sends themselves
 * (BENCHMARKS.md). Held back by the workflow (cancel, requeue): heartbeats the unmarked progress until the server's
 * cancel arrives, and never delivers. `sendMarked`: the mark was written (the send needs no heartbeat of its own).
 */
async function armed(
  ctx: Context,
  gate: ReleaseGate | undefined,
  releaseAtMs: number,
  progress: SeriesProgress,
): Promise<{ progress: SeriesProgress; sendMarked: boolean }> {
  const signal = ctx.cancellationSignal;
  const marked: SeriesProgress = {
    ...progress,
    temporal_attempt: ctx.info.attempt,
    armed_until: new Date(releaseAtMs).toISOString(),
  };
  const leadMs = releaseAtMs - Date.now();
  let sendMarked = false;
  const beat = setTimeout(
    () => {
      if (!sendMarked) heartbeatWith(marked);
    },
    Math.round(leadMs * (0.3 + 0.6 * Math.random())),
  );
  const markInMs = Math.max(0, Math.round(leadMs - MARK_BEFORE_MS - Math.random() * MARK_SPREAD_MS));
  const mark = setTimeout(() => {
    heartbeatWith({ ...marked, sends_at: marked.armed_until });
    sendMarked = true;
  }, markInMs);
  const key = armedKeyOf(ctx);
  try {
    const exit = gate
      ? await gate.wait(key, releaseAtMs, signal)
      : await new Promise<GateExit>((resolve) => {
          const t = setTimeout(() => resolve('due'), leadMs);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve('aborted')), { once: true });
        });
    if (exit === 'held') {
      heartbeatWith(marked);
      const every = setInterval(() => ctx.heartbeat(marked), 1_000);
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })).finally(() =>
        clearInterval(every),
      );
    }
    if (signal.aborted) throw signal.reason;
    return { progress, sendMarked };
  } finally {
    clearTimeout(beat);
    clearTimeout(mark);
  }
}

/** The release gate's key of this activity's armed delivery. */
function armedKeyOf(ctx: Context): string {
  const execution = ctx.info.workflowExecution;
  return armedKeyOfIds(execution?.workflowId ?? '', execution?.runId ?? '', ctx.info.activityId);
}

/**
 * Local activity of the retry workflow: the live progress of its pending attempt series, read from the server before
 * the workflow cancels the series (retry-now, requeue, cancel), so no attempt-log line and no attempt count is lost.
 * With `command`, an armed series in this worker's release gate is released at once (`release_now`: retry-now) or
 * held back for good (`hold`: cancel, requeue); it then reports as in flight, or as armed and held.
 */
export function createReadSeriesProgress(gate?: ReleaseGate) {
  return async function readSeriesProgress(req: {
    workflow_id: string;
    run_id: string;
    activity_id: string;
    command?: GateCommand;
  }): Promise<SeriesProgress | null> {
    const key = armedKeyOfIds(req.workflow_id, req.run_id, req.activity_id);
    const here = req.command !== undefined && gate?.command(key, req.command) === true;
    const desc = await Context.current().client.workflow.getHandle(req.workflow_id, req.run_id).describe();
    const progress = seriesProgressOf(desc.raw.pendingActivities, req.activity_id) ?? null;
    if (!here) return progress;
    const base = progress ?? initialProgress(1);
    return req.command === 'release_now' ? { ...base, in_flight: true, armed_until: undefined } : base;
  };
}

function pausedFailure(paused: DestinationPausedDetails, progress: SeriesProgress): ApplicationFailure {
  return ApplicationFailure.create({
    type: DestinationPausedType,
    message: `destination ${paused.destination_key} is paused; no attempt made`,
    nonRetryable: true,
    details: [paused, progress],
  });
}

function ended(end: SeriesEnded): ApplicationFailure {
  return ApplicationFailure.create({
    type: SeriesEndedType,
    message: `${end.reason}: ${end.failure.message}`,
    nonRetryable: true,
    details: [end],
  });
}

/** Reads a deliverer's classified DeliveryError; anything else (a bug) counts as a retryable internal error. */
function classified(err: unknown, elapsedMs: number): ClassifiedFailure {
  return err instanceof DeliveryError ? err : internalFailure(err, elapsedMs);
}
