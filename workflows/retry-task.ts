import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  metricMeter,
  proxyActivities,
  makeContinueAsNewFunc,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { boundedRetryAfterMs, waitBeforeAttemptMs } from '../domain/backoff';
import {
  DeliveryFailureType,
  deliverOnceBy,
  type DeliveryFailureDetails,
  type DeliveryReceipt,
  type DeliveryRequest,
  type FailureContext,
} from '../domain/delivery';
import {
  InvalidTransitionType,
  cancelSignal,
  cancelUpdate,
  requeueSignal,
  requeueUpdate,
  retryNowSignal,
  retryNowUpdate,
  statusQuery,
  type CancelRequest,
  type RequeueRequest,
  type TransitionResult,
} from '../domain/messages';
import { StatusMemoKey, WorkflowBehaviour, deliveringDetails } from '../domain/visibility';
import { Visibility } from './visibility';
import {
  MAX_ATTEMPT_LOG,
  SeriesActivityIdPrefix,
  SeriesEndedType,
  failedAttempt,
  withSeriesProgress,
  type ClassifiedFailure,
  type ReleaseOptions,
  type SeriesEnded,
  type SeriesResult,
} from '../domain/series';
import {
  AttemptOutcome,
  TaskState,
  parkedStates,
  type AttemptRecord,
  type DeadLetterReason,
  type TaskStatus,
} from '../domain/status';
import { describeDestination, priorityKeyOf } from '../domain/destination';
import { applyRequeueOverrides, requeueOverridesProblem } from '../domain/requeue';
import type { Destination, Task } from '../domain/task';

export { MAX_ATTEMPT_LOG } from '../domain/series';

/** Dead-letter deliveries run on their own bounded Temporal retry policy: about 30 minutes of tries. */
export const deadLetterRetryPolicy: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [DeliveryFailureType.Permanent],
};

/** State carried from one run to the next (requeue and long histories continue as new). */
export interface CarriedState {
  status: TaskStatus;
  /** Where the next run picks up. */
  resume:
    | { phase: 'deliver'; next_attempt: number; retry_after_ms?: number; immediate?: boolean }
    | { phase: 'park'; parked_until: string };
}

export interface RetryTaskInput {
  task: Task;
  carried?: CarriedState;
  /** Lead-time release: waits longer than the lead end early and the delivery is armed in a worker. Off when absent. */
  release?: ReleaseOptions;
  /** Behaviour version (domain/visibility.ts); absent = {@link WorkflowBehaviour.Initial}, as recorded histories. */
  behaviour?: WorkflowBehaviour;
}

/** Why the delivery phase ended without success. */
interface GiveUp {
  reason: DeadLetterReason;
}

/** Internal signal that the current wait should end early and what to do next. */
type Interrupt = 'retry_now' | 'requeue';

/**
 * One retry task: waits (durable timers), delivers (activities), dead-letters, parks, and answers status queries,
 * cancel / requeue / retry-now signals and updates. Workflow id = task id.
 *
 * Timeline (seed 002): the message already failed once at the caller; attempt k is made base_delay·2^(k−1) s after
 * the previous failure (after submission for k = 1), capped by max_delay; at most max_retries attempts.
 */
export async function retryTask(input: RetryTaskInput): Promise<TaskStatus> {
  const task = input.task;
  const now = () => new Date(Date.now()).toISOString();
  const lean = (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.Lean;
  const visibility = new Visibility(lean);
  const status: TaskStatus = input.carried?.status ?? {
    task_id: task.id,
    state: TaskState.Scheduled,
    destination_type: task.destination_type,
    attempt: 0,
    max_attempts: task.max_retries,
    // Lean: the starter wrote the status memo with its submission time; the API reads that memo.
    submitted_at:
      (lean ? Visibility.memoStatus()?.submitted_at : undefined) ??
      new Date(workflowInfo().startTime.getTime()).toISOString(),
    requeues: 0,
    details: 'scheduled',
    attempts: [],
  };

  let interrupt: Interrupt | undefined;
  let pendingRequeue: RequeueRequest | undefined;
  let cancelReason: string | undefined;
  // Everything cancellable (timers, deliveries) runs in this scope; a cancel request cancels it.
  const work = new CancellationScope();
  let cancelRequested = false;
  let seriesCount = 0;
  /** Set while an attempt series runs: retry-now and requeue may interrupt it. */
  let seriesRunning = false;
  work.cancelRequested.catch(() => {
    cancelRequested = true;
  });
  // Parent of attempt series: a cancel of `work` does not reach them until the workflow has read their progress.
  const detached = new CancellationScope({ cancellable: false });

  // --- handlers first -------------------------------------------------------------------------------------------
  setHandler(statusQuery, () => ({ ...status, attempts: [...status.attempts] }));

  const isOpen = () => status.state !== TaskState.Succeeded && status.state !== TaskState.Cancelled;
  const requestCancel = (req?: CancelRequest) => {
    cancelReason = req?.reason ?? 'cancel requested';
    work.cancel();
  };
  const validateCancel = (_req: CancelRequest) => {
    if (!isOpen()) throw invalid(`task is already ${status.state}`);
  };
  setHandler(cancelSignal, (req) => {
    if (isOpen()) requestCancel(req);
  });
  setHandler(
    cancelUpdate,
    (req): TransitionResult => {
      const previous = status.state;
      requestCancel(req);
      return { previous_state: previous, state: TaskState.Cancelled };
    },
    { validator: validateCancel },
  );

  const requeueableStates: readonly TaskState[] = [...parkedStates, TaskState.Scheduled, TaskState.Waiting];
  const validateRequeue = (req: RequeueRequest) => {
    if (!requeueableStates.includes(status.state) && !seriesRunning) {
      throw invalid(`cannot requeue a task that is ${status.state}; only parked or waiting tasks can be requeued`);
    }
    if (pendingRequeue) throw invalid('a requeue is already in progress');
    const problem = requeueOverridesProblem(req?.overrides, task);
    if (problem) throw invalid(problem);
  };
  const requestRequeue = (req?: RequeueRequest) => {
    pendingRequeue = req ?? {};
    interrupt = 'requeue';
  };
  setHandler(requeueSignal, (req) => {
    try {
      validateRequeue(req);
      requestRequeue(req);
    } catch (err) {
      log.warn('requeue signal ignored', { reason: (err as Error).message });
    }
  });
  setHandler(
    requeueUpdate,
    (req): TransitionResult => {
      const previous = status.state;
      requestRequeue(req);
      return { previous_state: previous, state: TaskState.Scheduled };
    },
    { validator: validateRequeue },
  );

  // While an attempt series runs, the task may be waiting between attempts (the server holds that wait).
  const waits = () => status.state === TaskState.Scheduled || status.state === TaskState.Waiting || seriesRunning;
  const validateRetryNow = () => {
    if (!waits()) throw invalid(`retry-now only applies while a task waits; it is ${status.state}`);
  };
  setHandler(retryNowSignal, () => {
    if (waits()) interrupt ??= 'retry_now';
  });
  setHandler(
    retryNowUpdate,
    (): TransitionResult => {
      interrupt ??= 'retry_now';
      return { previous_state: status.state, state: TaskState.Delivering };
    },
    { validator: validateRetryNow },
  );

  // --- transitions: status, search attributes, Web UI current details, metrics -------------------------------
  const transitions = metricMeter.createCounter(
    'retry_service_task_state_entered',
    'tasks',
    'Tasks entering a state (succeeded, dead_lettered, dead_letter_failed, cancelled, …), from the workflows.',
  );
  const transition = (state: TaskState, details: string, nextAttemptAt?: string) => {
    if (state !== status.state) transitions.add(1, { state, destination_type: task.destination_type });
    status.state = state;
    status.details = details;
    status.next_attempt_at = nextAttemptAt;
    visibility.show(status);
  };

  /** Waits `ms` (durable timer) unless interrupted; returns the interrupt, if any. */
  const wait = async (ms: number, summary: string): Promise<Interrupt | undefined> => {
    if (interrupt) return interrupt;
    if (ms > 0) await condition(() => interrupt !== undefined, ms, { summary });
    return interrupt;
  };

  const activityOptions = (destination: Destination, timeoutMs: number): ActivityOptions => ({
    startToCloseTimeout: timeoutMs + 30_000,
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1 },
    priority: { priorityKey: priorityKeyOf(task) },
    summary: describeDestination(destination),
  });

  const deliver = (req: DeliveryRequest, options: ActivityOptions): Promise<DeliveryReceipt> =>
    deliverOnceBy(proxyActivities<Activities>(options))(req);

  const request = (attempt: number, kind: 'primary' | 'dead_letter', destination: Destination): DeliveryRequest => ({
    task_id: task.id,
    attempt,
    kind,
    destination,
    message_data: task.message_data,
    key: task.key,
    headers: task.headers,
    source: task.source,
    client_id: task.client_id,
    timeout_ms: Math.round(task.http_timeout * 1000),
  });

  const record = (entry: AttemptRecord) => {
    status.attempts.push(entry);
    if (status.attempts.length > MAX_ATTEMPT_LOG) status.attempts.splice(0, status.attempts.length - MAX_ATTEMPT_LOG);
  };

  // --- phases --------------------------------------------------------------------------------------------------
  /** Epoch ms past which no attempt may start (max_duration from submission); undefined when unset. */
  const deadlineMs = () =>
    task.max_duration !== undefined ? Date.parse(status.submitted_at) + task.max_duration * 1000 : undefined;
  const seriesLocal = proxyLocalActivities<Activities>({
    startToCloseTimeout: '10 seconds',
    retry: { maximumAttempts: 3 },
  });

  type SeriesOutcome =
    | { kind: 'delivered'; receipt: DeliveryReceipt }
    | { kind: 'ended'; reason: DeadLetterReason }
    | { kind: 'interrupted'; by: Interrupt | 'cancel' };

  /**
   * Runs attempts `firstAttempt`… as one activity whose Temporal retries are the task's retries (domain/series.ts);
   * merges its attempt log into the status when it ends. A cancel, requeue or retry-now first reads the series'
   * live progress (local activity), then cancels it, so no log line or attempt count is lost.
   */
  const runSeries = async (firstAttempt: number, releaseAtMs?: number): Promise<SeriesOutcome> => {
    const activityId = `${SeriesActivityIdPrefix}${++seriesCount}`;
    const timeoutMs = Math.round(task.http_timeout * 1000);
    const leadMs = releaseAtMs !== undefined ? Math.max(0, releaseAtMs - Date.now()) : 0;
    const acts = proxyActivities<Activities>({
      ...activityOptions(task.destination, timeoutMs),
      // An armed series waits in a worker of the release queue first (one heartbeat during the lead).
      ...(releaseAtMs !== undefined && input.release
        ? {
            taskQueue: input.release.task_queue,
            startToCloseTimeout: leadMs + timeoutMs + 30_000,
            heartbeatTimeout: leadMs + 15_000,
          }
        : {}),
      activityId,
      summary: `attempts ${firstAttempt}–${task.max_retries} to ${describeDestination(task.destination)}`,
      retry: {
        // The activity sets every wait itself (nextRetryDelay). This policy only paces attempts that die without a
        // report (worker lost), which still count against max_retries.
        initialInterval: `${Math.max(1, task.base_delay)} seconds`,
        backoffCoefficient: 2,
        maximumInterval: `${Math.max(1, task.max_delay ?? 365 * 24 * 3600)} seconds`,
        nonRetryableErrorTypes: [DeliveryFailureType.Permanent, SeriesEndedType],
      },
    });
    const deadline = deadlineMs();
    // Not a child of `work`: a cancel must not reach the series before its progress has been read.
    const seriesScope = new CancellationScope({ cancellable: true, parent: detached });
    const running = seriesScope.run(() =>
      acts.deliverSeries({
        delivery: request(firstAttempt, 'primary', task.destination),
        first_attempt: firstAttempt,
        max_attempts: task.max_retries,
        policy: { base_delay: task.base_delay, max_delay: task.max_delay, jitter: task.jitter },
        deadline_ms: deadline,
        ...(releaseAtMs !== undefined ? { release_at_ms: releaseAtMs } : {}),
      }),
    );
    const settled = running.then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    seriesRunning = true;
    try {
      for (;;) {
        const first = await Promise.race([
          settled,
          CancellationScope.nonCancellable(() => condition(() => interrupt !== undefined || cancelRequested)),
        ]);
        if (first !== undefined) return seriesSettled(first);
        const by: Interrupt | 'cancel' = cancelRequested ? 'cancel' : interrupt!;
        const progress = await CancellationScope.nonCancellable(() =>
          seriesLocal
            .readSeriesProgress({
              workflow_id: workflowInfo().workflowId,
              run_id: workflowInfo().runId,
              activity_id: activityId,
              // An armed series in the same worker is released at once (retry-now) or held back (cancel, requeue).
              ...(releaseAtMs !== undefined ? { command: by === 'retry_now' ? 'release_now' : 'hold' } : {}),
            })
            .catch(() => null),
        );
        // Retry-now of a series armed in another worker process: it is released at its due time (see README).
        if (by === 'retry_now' && (progress === null || progress.in_flight || progress.armed_until)) {
          // An attempt is being made right now (or has not started yet): nothing to skip.
          interrupt = undefined;
          continue;
        }
        seriesScope.cancel();
        const outcome = await settled;
        if (outcome.ok || !isCancellation(outcome.err)) return seriesSettled(outcome);
        if (progress) Object.assign(status, withSeriesProgress(status, progress, MAX_ATTEMPT_LOG, true));
        return { kind: 'interrupted', by };
      }
    } finally {
      seriesRunning = false;
    }
  };

  /** Merges a finished series into the status. */
  const seriesSettled = (outcome: { ok: true; r: SeriesResult } | { ok: false; err: unknown }): SeriesOutcome => {
    if (outcome.ok) {
      Object.assign(status, withSeriesProgress(status, outcome.r.progress, MAX_ATTEMPT_LOG, false));
      return { kind: 'delivered', receipt: outcome.r.receipt };
    }
    const cause = outcome.err instanceof ActivityFailure ? outcome.err.cause : outcome.err;
    if (cause instanceof ApplicationFailure && cause.type === SeriesEndedType) {
      const end = cause.details?.[0] as SeriesEnded;
      Object.assign(status, withSeriesProgress(status, end.progress, MAX_ATTEMPT_LOG, false));
      return { kind: 'ended', reason: end.reason };
    }
    if (isCancellation(outcome.err)) return { kind: 'interrupted', by: 'cancel' };
    // Only a failure outside the series' own classification gets here (e.g. an activity timeout with retries
    // exhausted by the server): treat it as the last attempt having failed.
    const failure = classify(outcome.err, 0);
    status.attempt = Math.max(status.attempt, 1);
    status.last_error = failure.message;
    record(failedAttempt(status.attempt, 'primary', now(), failure, 0));
    return { kind: 'ended', reason: 'exhausted' };
  };

  /** Attempts deliveries until success (undefined) or giving up (the reason). */
  const deliveryPhase = async (
    firstAttempt: number,
    retryAfterMs: number | undefined,
    immediate: boolean,
  ): Promise<GiveUp | undefined> => {
    if (firstAttempt > task.max_retries) return { reason: 'exhausted' };
    const deadline = deadlineMs();
    // The wait before this run's first attempt is a workflow timer (tier, deliver_at, backoff or Retry-After):
    // it shows in the history and the Web UI with its summary. Later waits are held by the server (the series).
    let waitMs = immediate ? 0 : waitBeforeAttemptMs(task, firstAttempt, Date.now(), Math.random());
    if (retryAfterMs !== undefined) waitMs = boundedRetryAfterMs(retryAfterMs, task.max_delay);
    const nextAt = Date.now() + waitMs;
    if (deadline !== undefined && nextAt > deadline) return { reason: 'max_duration' };
    // No wait (deliver_at now, requeue, retry-now carried over): straight to delivering, one search-attribute
    // update fewer per task (they are visibility writes on the server).
    if (waitMs > 0) {
      const nextIso = new Date(nextAt).toISOString();
      if (status.attempt === 0 && firstAttempt === 1) {
        transition(TaskState.Scheduled, `attempt 1/${task.max_retries} at ${nextIso}`, nextIso);
      } else {
        const last = status.last_status_code ? `HTTP ${status.last_status_code}` : (status.last_error ?? 'failed');
        transition(
          TaskState.Waiting,
          `attempt ${firstAttempt - 1}/${task.max_retries} failed: ${last} — next at ${nextIso}`,
          nextIso,
        );
      }
    }
    // Lead-time release: the delivery is armed in a worker a lead before its due time (at once for a shorter wait)
    // and released there at the due millisecond; the engine's latency is spent before the due time, not after it.
    // Only starters that know the release queue pass `release`, so histories without it replay unchanged.
    const leadMs = input.release?.lead_ms ?? 0;
    let releaseAtMs = leadMs > 0 && waitMs > 0 ? nextAt : undefined;
    const timerMs = releaseAtMs !== undefined ? waitMs - leadMs : waitMs;
    const interrupted = await wait(
      timerMs,
      releaseAtMs !== undefined
        ? `wait, then arm attempt ${firstAttempt}/${task.max_retries} due ${new Date(nextAt).toISOString()}`
        : `wait before attempt ${firstAttempt}/${task.max_retries}`,
    );
    if (interrupted === 'requeue') return undefined;
    if (interrupted === 'retry_now') {
      interrupt = undefined;
      releaseAtMs = undefined;
    }

    for (let next = firstAttempt; ;) {
      if (next > task.max_retries) return { reason: 'exhausted' };
      if (releaseAtMs !== undefined) {
        // Same state and search attributes as during the wait (no visibility write): the details say it is armed.
        status.details = `armed in a worker, attempt ${next}/${task.max_retries} due ${new Date(releaseAtMs).toISOString()}`;
        setCurrentDetails(`**${status.state}** · ${status.details}`);
      } else {
        transition(
          TaskState.Delivering,
          deliveringDetails(next, task.max_retries, describeDestination(task.destination)),
        );
      }
      const outcome = await runSeries(next, releaseAtMs);
      releaseAtMs = undefined;
      if (outcome.kind === 'delivered') return undefined;
      if (outcome.kind === 'ended') return { reason: outcome.reason };
      if (outcome.by === 'cancel') throw new CancelledFailure(cancelReason ?? 'workflow cancellation requested');
      if (outcome.by === 'requeue') return undefined;
      // Retry-now: the next attempt starts at once, in a new series.
      interrupt = undefined;
      next = status.attempt + 1;
      if (workflowInfo().continueAsNewSuggested) {
        await continueWith({ phase: 'deliver', next_attempt: next, immediate: true });
      }
    }
  };

  /** Sends the message to the dead destination (own bounded policy) and parks. */
  const deadLetterPhase = async (reason: DeadLetterReason): Promise<void> => {
    const failureContext: FailureContext = {
      reason,
      attempts: status.attempt,
      last_error: status.last_error,
      last_status_code: status.last_status_code,
      first_attempt_at: status.first_attempt_at,
      last_attempt_at: status.last_attempt_at,
      original_destination: describeDestination(task.destination),
      original_topic: 'topic' in task.destination ? task.destination.topic : undefined,
    };
    const dead = task.dead_destination ?? undefined;
    if (!dead) {
      status.dead_letter = { reason, delivered: false };
      return;
    }
    transition(TaskState.DeadLettering, `${reason}: sending to dead destination ${describeDestination(dead)}`);
    const startedAt = Date.now();
    try {
      const receipt = await deliver(
        { ...request(1, 'dead_letter', dead), failure: failureContext },
        { ...activityOptions(dead, Math.round(task.http_timeout * 1000)), retry: deadLetterRetryPolicy },
      );
      record({
        number: 1,
        target: 'dead_letter',
        started_at: new Date(startedAt).toISOString(),
        duration_ms: receipt.duration_ms,
        outcome: AttemptOutcome.Success,
        status_code: receipt.status_code,
      });
      status.dead_letter = { reason, delivered: true, delivered_at: now() };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = classify(err, Date.now() - startedAt);
      // Duration over all of the dead-letter policy's tries.
      record(failedAttempt(1, 'dead_letter', new Date(startedAt).toISOString(), failure, Date.now() - startedAt));
      status.dead_letter = { reason, delivered: false };
      status.last_error = `dead destination: ${failure.message}`;
    }
  };

  /** Parks until requeue, cancel or the end of the retention. Returns true when requeued. */
  const park = async (parkedUntil: string): Promise<boolean> => {
    const parkedState =
      task.dead_destination && status.dead_letter?.delivered === false
        ? TaskState.DeadLetterFailed
        : TaskState.DeadLettered;
    if (status.dead_letter) status.dead_letter.parked_until = parkedUntil;
    const where = status.dead_letter?.delivered
      ? `sent to ${describeDestination(task.dead_destination!)}`
      : parkedState === TaskState.DeadLetterFailed
        ? 'dead destination failed; message kept here'
        : 'no dead destination; message kept here';
    transition(
      parkedState,
      `dead-lettered (${status.dead_letter?.reason ?? 'exhausted'}) after ${status.attempt} attempt(s): ${where}; parked until ${parkedUntil}`,
    );
    for (;;) {
      const remaining = Date.parse(parkedUntil) - Date.now();
      if (remaining <= 0) return false;
      // Wake up at least daily to check the history size; a long park may need a fresh run.
      const requeued = await condition(() => interrupt === 'requeue', Math.min(remaining, 24 * 3600_000), {
        summary: `parked until ${parkedUntil}`,
      });
      if (requeued) return true;
      if (workflowInfo().continueAsNewSuggested) await continueWith({ phase: 'park', parked_until: parkedUntil });
    }
  };

  /** Continues as new with the task and its status, once every handler has finished. */
  const continueWith = async (resume: CarriedState['resume'], nextTask: Task = task): Promise<never> => {
    await condition(allHandlersFinished);
    const next: RetryTaskInput = { task: nextTask, carried: { status, resume }, release: input.release };
    if (!lean) return continueAsNew<typeof retryTask>(next);
    // The memo is not carried over by itself: the next run starts with the status it continues from.
    return makeContinueAsNewFunc<typeof retryTask>({ memo: { [StatusMemoKey]: status } })({
      ...next,
      behaviour: input.behaviour,
    });
  };

  const applyRequeue = async (req: RequeueRequest): Promise<never> => {
    const { task: base, timed } = applyRequeueOverrides(task, req.overrides);
    status.requeues += 1;
    status.attempt = 0;
    status.max_attempts = base.max_retries;
    status.dead_letter = undefined;
    status.last_error = undefined;
    status.last_status_code = undefined;
    status.circuit_open_until = undefined;
    transition(TaskState.Scheduled, `requeued${req.reason ? ` (${req.reason})` : ''}; attempts start again`);
    // Without a new first delay, a requeued task is tried at once.
    return continueWith({ phase: 'deliver', next_attempt: 1, immediate: !timed }, base);
  };

  // --- main ----------------------------------------------------------------------------------------------------
  try {
    await work.run(async () => {
      const resume = input.carried?.resume ?? { phase: 'deliver' as const, next_attempt: 1 };
      let parkedUntil: string;
      if (resume.phase === 'park') {
        parkedUntil = resume.parked_until;
      } else {
        const giveUp = await deliveryPhase(resume.next_attempt, resume.retry_after_ms, resume.immediate ?? false);
        if (interrupt === 'requeue') return applyRequeue(pendingRequeue ?? {});
        if (!giveUp) {
          transition(
            TaskState.Succeeded,
            `delivered at attempt ${status.attempt}/${task.max_retries}${status.last_status_code ? ` (HTTP ${status.last_status_code})` : ''}`,
          );
          return;
        }
        await deadLetterPhase(giveUp.reason);
        parkedUntil = new Date(Date.now() + task.park_retention * 1000).toISOString();
      }
      if (await park(parkedUntil)) return applyRequeue(pendingRequeue ?? {});
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled by our cancel signal/update or from the Web UI / CLI: the task ends as `cancelled`.
    const from = status.state;
    transition(TaskState.Cancelled, `cancelled while ${from}: ${cancelReason ?? 'workflow cancellation requested'}`);
    if (from === TaskState.Delivering) {
      record({
        number: status.attempt,
        target: 'primary',
        started_at: status.last_attempt_at ?? now(),
        duration_ms: 0,
        outcome: AttemptOutcome.Cancelled,
      });
    }
  }
  // After a cancel the root scope may be cancelled too; finishing the handlers must not be.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return { ...status };
}

function invalid(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type: InvalidTransitionType, message: reason, nonRetryable: true });
}

/** Reads the activity's classified failure; unknown failures (timeouts, crashes) count as retryable. */
function classify(err: unknown, elapsedMs: number): ClassifiedFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as Partial<DeliveryFailureDetails>;
    return {
      type: cause.type ?? DeliveryFailureType.Retryable,
      message: cause.message,
      details: { error_class: cause.type ?? 'error', duration_ms: elapsedMs, ...details },
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      type: DeliveryFailureType.Retryable,
      message: `activity timed out (${cause.timeoutType})`,
      details: { error_class: 'activity_timeout', duration_ms: elapsedMs },
    };
  }
  return {
    type: DeliveryFailureType.Retryable,
    message: cause instanceof Error ? cause.message : String(cause),
    details: { error_class: 'error', duration_ms: elapsedMs },
  };
}
