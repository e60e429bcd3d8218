import { boundedRetryAfterMs, waitBeforeAttemptMs } from './backoff';
import type { DeliveryReceipt, DeliveryRequest } from './delivery';
import { DeliveryFailureType, failureOutcome, type ClassifiedFailure, type DeliveryFailureDetails } from './failures';
import { AttemptOutcome, TaskState, type AttemptRecord, type DeadLetterReason, type TaskStatus } from './status';
import type { TurnHandOff, TurnHandOffResult } from './ordering';
import type { Task } from './task';

/**
 * An attempt series: the primary deliveries of a task run as ONE activity whose Temporal retries are the task's
 * retries. The activity makes one delivery per Temporal attempt and, after a retryable failure, tells the server when
 * to try again (`nextRetryDelay` = the task's backoff, Retry-After or the circuit's cool-down). The server keeps that
 * wait, so a retry costs no workflow task and no history event: a task retried k times records one activity in its
 * history instead of k timers and k activities. The attempt log travels from one Temporal attempt to the next in the
 * activity's heartbeat details ({@link SeriesProgress}); the workflow merges it into its status when the series ends,
 * and the API merges the live one from the pending activity while it runs.
 *
 * Pure and workflow-safe: the workflow, the activities and the API share these types and the merge.
 */

/** Attempt-log lines a task keeps (carried across continue-as-new); older ones are dropped, their count stays. */
export const MAX_ATTEMPT_LOG = 100;

/** `type` of the non-retryable ApplicationFailure that ends a series without success. */
export const SeriesEndedType = 'AttemptSeriesEnded';

/** Activity ids of attempt series start with this (the API finds the live one among pending activities by it). */
export const SeriesActivityIdPrefix = 'attempts-';

/** What the workflow hands the series activity. */
export interface SeriesRequest {
  /** The primary delivery; its `attempt` is set per delivery by the activity. */
  delivery: DeliveryRequest;
  /** Attempt number of the series' first delivery (1 unless retry-now split the series). */
  first_attempt: number;
  /** The task's max_retries: the series ends as exhausted after this attempt fails. */
  max_attempts: number;
  /** Backoff settings of the task (seconds). */
  policy: Pick<Task, 'base_delay' | 'max_delay' | 'jitter'>;
  /** Epoch ms past which no attempt may start (max_duration); none when unset. */
  deadline_ms?: number;
  /**
   * Armed delivery (lead-time release): the series started a lead time early and makes its first delivery at this
   * epoch ms, released by the worker's due-time batcher (activities/release-gate.ts). None: deliver at once.
   */
  release_at_ms?: number;
  /**
   * Behaviour SeriesHandOff: an ordered task that holds its turn hands it on this way once a delivery of the series
   * succeeds, before the series reports (activities/series.ts); the workflow then has nothing left to send.
   */
  hand_off?: TurnHandOff;
}

/** Where armed deliveries run: the task queue's companion queue, served by activity-only workers with many slots. */
export function releaseQueueOf(taskQueue: string): string {
  return `${taskQueue}.release`;
}

/** Lead-time release settings a task's workflow receives from whoever starts it. */
export interface ReleaseOptions {
  /** Waits longer than this end this many milliseconds early; the delivery is then armed in a worker. */
  lead_ms: number;
  /** The task queue of armed deliveries ({@link releaseQueueOf}). */
  task_queue: string;
}

/** The key under which the release gate knows an armed series: workflow id, run id, activity id. */
export function armedKeyOf(workflowId: string, runId: string, activityId: string): string {
  return `${workflowId}/${runId}/${activityId}`;
}

/** The attempt log and counters of a running series, carried in the activity's heartbeat details. */
export interface SeriesProgress {
  /** Attempts used so far (the last one made or in flight); deferred ones are not counted. */
  attempt: number;
  /** The Temporal attempt (1-based) that wrote this progress. */
  temporal_attempt: number;
  /**
   * True from just before a send until its result is known; found true on entry, that attempt died without a report
   * (outcome unknown). A Temporal attempt that left no such mark died before sending (never started).
   */
  in_flight: boolean;
  /** Log lines of this series only. */
  attempts: AttemptRecord[];
  next_attempt_at?: string;
  circuit_open_until?: string;
  /** Set while the series' first delivery waits in a worker's release gate (armed), until this ISO time. */
  armed_until?: string;
  /**
   * The in-flight mark of an armed delivery, written a second or three before its due instant (this ISO time) rather
   * than just before the send: a burst's sends then do not wait behind a heartbeat each. Found on entry, the worker
   * was lost after the mark: the attempt counts as outcome unknown, like {@link in_flight}, though it may not have
   * been sent.
   */
  sends_at?: string;
  last_error?: string;
  last_status_code?: number;
  first_attempt_at?: string;
  last_attempt_at?: string;
}

/** Returned when a delivery of the series succeeded. */
export interface SeriesResult {
  receipt: DeliveryReceipt;
  progress: SeriesProgress;
  /** The request's {@link SeriesRequest.hand_off} was made; absent when it was not asked for or could not be made. */
  handed_off?: TurnHandOffResult;
}

/** details[0] of the {@link SeriesEndedType} failure. */
export interface SeriesEnded {
  reason: DeadLetterReason;
  progress: SeriesProgress;
  /** The failure of the last delivery. */
  failure: DeliveryFailureDetails & { message: string };
}

/** The progress a series starts from when nothing was carried. */
export function initialProgress(firstAttempt: number): SeriesProgress {
  return { attempt: firstAttempt - 1, temporal_attempt: 0, in_flight: false, attempts: [] };
}

/** What to do after a failed delivery: retry after `waitMs`, or end the series. */
export type NextStep = { kind: 'retry'; waitMs: number; counted: boolean } | { kind: 'end'; reason: DeadLetterReason };

/**
 * The decision after one failed delivery (attempt `progress.attempt`). A circuit deferral does not consume the
 * attempt and waits for the breaker; a retryable failure waits Retry-After (bounded by max_delay) or the backoff for
 * the next attempt; the series ends on a permanent failure, after the last attempt, or when the next attempt would
 * start past the deadline. `nowMs` is the server's time of the attempt; `random` in [0, 1) drives jitter.
 */
export function nextStepAfterFailure(
  req: Pick<SeriesRequest, 'max_attempts' | 'policy' | 'deadline_ms'>,
  attempt: number,
  failure: { type: string; details: Partial<DeliveryFailureDetails> },
  nowMs: number,
  random: number,
): NextStep {
  if (failure.type === DeliveryFailureType.Permanent) return { kind: 'end', reason: 'permanent' };
  let waitMs: number;
  let counted = true;
  if (failure.type === DeliveryFailureType.CircuitOpen) {
    counted = false;
    const until = failure.details.circuit_open_until ? Date.parse(failure.details.circuit_open_until) : NaN;
    waitMs = Math.max(1_000, Number.isFinite(until) ? until - nowMs : 30_000);
  } else {
    if (attempt >= req.max_attempts) return { kind: 'end', reason: 'exhausted' };
    waitMs =
      failure.details.retry_after_ms !== undefined
        ? boundedRetryAfterMs(failure.details.retry_after_ms, req.policy.max_delay)
        : waitBeforeAttemptMs(req.policy, attempt + 1, nowMs, random);
  }
  if (req.deadline_ms !== undefined && nowMs + waitMs > req.deadline_ms) return { kind: 'end', reason: 'max_duration' };
  return { kind: 'retry', waitMs, counted };
}

/** Keeps the newest `max` lines. */
export function appendBounded<T>(log: T[], lines: readonly T[], max: number): T[] {
  const all = [...log, ...lines];
  return all.length > max ? all.slice(all.length - max) : all;
}

/**
 * The task status with a series' progress merged in: its log lines after the workflow's, its counters and, while
 * the series runs (`live`), the state it is in (delivering, or waiting for the next attempt).
 */
export function withSeriesProgress(
  status: TaskStatus,
  progress: SeriesProgress,
  maxLog: number,
  live: boolean,
): TaskStatus {
  const merged: TaskStatus = {
    ...status,
    attempt: Math.max(status.attempt, progress.attempt),
    attempts: appendBounded(status.attempts, progress.attempts, maxLog),
    last_error: progress.last_error ?? status.last_error,
    last_status_code: progress.last_status_code ?? status.last_status_code,
    first_attempt_at: status.first_attempt_at ?? progress.first_attempt_at,
    last_attempt_at: progress.last_attempt_at ?? status.last_attempt_at,
  };
  if (!live) return merged;
  if (progress.armed_until && !progress.in_flight) {
    return {
      ...merged,
      state: TaskState.Scheduled,
      next_attempt_at: progress.armed_until,
      details: `armed in a worker, due ${progress.armed_until} (attempt ${progress.attempt + 1}/${status.max_attempts})`,
    };
  }
  if (progress.in_flight) {
    return { ...merged, state: TaskState.Delivering, next_attempt_at: undefined, circuit_open_until: undefined };
  }
  const last = progress.last_status_code ? `HTTP ${progress.last_status_code}` : (progress.last_error ?? 'failed');
  return {
    ...merged,
    state: TaskState.Waiting,
    next_attempt_at: progress.next_attempt_at,
    circuit_open_until: progress.circuit_open_until,
    details: progress.circuit_open_until
      ? `destination circuit open until ${progress.circuit_open_until}; attempt ${progress.attempt + 1} deferred`
      : `attempt ${progress.attempt}/${status.max_attempts} failed: ${last} — next at ${progress.next_attempt_at}`,
  };
}

/**
 * The attempt-log line of a delivery attempt whose outcome is unknown: it was marked in flight (heartbeated just
 * before the send) and never reported (worker lost, activity timed out). The destination may have received it, so it
 * counts as a failed attempt; an attempt that died before its mark was recorded is not logged and not counted.
 */
export function outcomeUnknownAttempt(number: number, startedAt: string): AttemptRecord {
  return {
    number,
    target: 'primary',
    started_at: startedAt,
    duration_ms: 0,
    outcome: AttemptOutcome.Retryable,
    error_class: 'outcome_unknown',
    error:
      'the attempt was being sent and never reported (worker lost or activity timed out); the destination may have ' +
      'received it; counted as failed',
  };
}

/** The attempt-log line of a failed (retryable or permanent) or deferred delivery. */
export function failedAttempt(
  number: number,
  target: AttemptRecord['target'],
  startedAt: string,
  failure: ClassifiedFailure,
  durationMs: number,
): AttemptRecord {
  return {
    number,
    target,
    started_at: startedAt,
    duration_ms: durationMs,
    outcome: failureOutcome(failure.type),
    status_code: failure.details.status_code,
    error_class: failure.details.error_class,
    error: failure.message,
  };
}
