import {
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  setHandler,
} from '@temporalio/workflow';
import {
  cancelSignal,
  cancelUpdate,
  requeueAppliedQuery,
  requeueSignal,
  requeueUpdate,
  retryNowSignal,
  retryNowUpdate,
  statusQuery,
  type CancelRequest,
  type RequeueRequest,
  type TransitionResult,
} from '../domain/messages';
import { receiverAckUpdate } from '../domain/ack';
import { destinationReleaseSignal } from '../domain/destination-pause';
import { applyRequeueOverrides } from '../domain/requeue';
import { AttemptOutcome, TaskState, type TaskStatus } from '../domain/status';
import { taskActivities } from './activity-proxies';
import { deadLetterPhase, parkPhase } from './dead-letter-phase';
import { deliverPhase } from './deliver-phase';
import { enterPark, type ParkEntry } from './park-entry';
import { ReceiverAcks, ackTimeoutFor } from './receiver-ack';
import { OrderingTurn } from './ordering-turn';
import {
  carriedTurn,
  chainsTurns,
  handsOffInSeries,
  handsOffLocally,
  isLeanOrdered,
  type RetryTaskInput,
} from './carried-state';
import { RetryTaskState } from './task-state';

export { MAX_ATTEMPT_LOG } from '../domain/series';
export { deadLetterRetryPolicy } from './activity-proxies';
export type { CarriedState, RetryTaskInput } from './carried-state';

/**
 * One retry task: waits (durable timers), delivers (activities), dead-letters, parks, and answers status queries,
 * cancel / requeue / retry-now signals and updates. Workflow id = task id. The phases live beside this file
 * (deliver-phase.ts, attempt-series.ts, dead-letter-phase.ts); the state and its rules in task-state.ts.
 *
 * Timeline: the message already failed once at the caller; attempt k is made base_delay·2^(k−1) s after the
 * previous failure (after submission for k = 1), capped by max_delay; at most max_retries attempts.
 */
export async function retryTask(input: RetryTaskInput): Promise<TaskStatus> {
  const state = new RetryTaskState(input);
  const { task, status } = state;
  const acts = taskActivities(task, input.release, status.requeues);
  const acks = new ReceiverAcks(state);
  // Everything cancellable (timers, deliveries) runs in this scope; a cancel request cancels it.
  const work = new CancellationScope();
  work.cancelRequested.catch(() => {
    state.cancelRequested = true;
  });
  // Parent of attempt series: a cancel of `work` does not reach them until the workflow has read their progress.
  const detached = new CancellationScope({ cancellable: false });

  // --- handlers first -------------------------------------------------------------------------------------------
  setHandler(statusQuery, () => state.snapshot());
  setHandler(requeueAppliedQuery, (requestId) => state.isRepeatedRequeue({ request_id: requestId }));
  // Ordered tasks only (domain/ordering.ts): tasks without an ordering_key run exactly as before.
  const how = { unmarked: isLeanOrdered(input), local: handsOffLocally(input), chain: chainsTurns(input) };
  const ordering =
    task.ordering_key !== undefined ? new OrderingTurn(state, carriedTurn(input.carried), how) : undefined;
  if (ordering) state.turn = () => ordering.carried;
  // A delivery that counts at its 2xx hands the turn on from its series (no receiver ack to wait for first).
  if (ordering && handsOffInSeries(input) && ackTimeoutFor(task.destination) === undefined) {
    state.seriesHandOff = { request: () => ordering.seriesHandOff(), done: (r, sent) => ordering.handedOff(r, sent) };
  }
  const requestCancel = (req?: CancelRequest) => {
    state.cancelReason = req?.reason ?? 'cancel requested';
    work.cancel();
  };
  setHandler(cancelSignal, (req) => {
    if (state.isOpen) requestCancel(req);
  });
  setHandler(
    cancelUpdate,
    (req): TransitionResult => {
      const previous = status.state;
      requestCancel(req);
      return { previous_state: previous, state: TaskState.Cancelled };
    },
    { validator: (_req: CancelRequest) => state.validateCancel() },
  );
  setHandler(requeueSignal, (req) => {
    if (state.isRepeatedRequeue(req)) return;
    try {
      state.validateRequeue(req);
      state.requestRequeue(req);
    } catch (err) {
      log.warn('requeue signal ignored', { reason: (err as Error).message });
    }
  });
  setHandler(
    requeueUpdate,
    (req): TransitionResult => {
      const previous = status.state;
      if (state.isRepeatedRequeue(req)) return { previous_state: previous, state: previous, already_applied: true };
      state.requestRequeue(req);
      return { previous_state: previous, state: TaskState.Scheduled };
    },
    { validator: (req) => state.validateRequeue(req) },
  );
  setHandler(receiverAckUpdate, (answer) => acks.receive(answer), { validator: (answer) => acks.validate(answer) });
  setHandler(destinationReleaseSignal, () => {
    state.released = true;
  });
  setHandler(retryNowSignal, () => {
    if (state.waits) state.requestRetryNow();
  });
  setHandler(
    retryNowUpdate,
    (): TransitionResult => {
      state.requestRetryNow();
      return { previous_state: status.state, state: TaskState.Delivering };
    },
    { validator: () => state.validateRetryNow() },
  );

  const applyRequeue = async (req: RequeueRequest): Promise<never> => {
    const { task: next, timed } = applyRequeueOverrides(task, req.overrides);
    status.requeues += 1;
    status.attempt = 0;
    status.max_attempts = next.max_retries;
    status.dead_letter = undefined;
    status.last_error = undefined;
    status.last_status_code = undefined;
    status.circuit_open_until = undefined;
    state.transition(TaskState.Scheduled, `requeued${req.reason ? ` (${req.reason})` : ''}; attempts start again`);
    // Without a new first delay, a requeued task is tried at once.
    return state.continueWith({ phase: 'deliver', next_attempt: 1, immediate: !timed }, next, req.request_id);
  };

  // --- phases ----------------------------------------------------------------------------------------------------
  try {
    await work.run(async () => {
      const resume = input.carried?.resume ?? { phase: 'deliver' as const, next_attempt: 1 };
      let park: ParkEntry;
      if (resume.phase === 'park') {
        park = { parkedUntil: resume.parked_until };
      } else {
        const { next_attempt, retry_after_ms, immediate } = resume;
        const dueAtMs = ordering ? await ordering.awaitTurn(input.carried === undefined) : undefined;
        const giveUp = await deliverPhase(
          state,
          acts,
          detached,
          next_attempt,
          retry_after_ms,
          immediate ?? false,
          acks,
          dueAtMs,
        );
        if (state.interrupt === 'requeue') return applyRequeue(state.pendingRequeue ?? {});
        if (!giveUp) {
          state.transition(
            TaskState.Succeeded,
            `delivered at attempt ${status.attempt}/${task.max_retries}${status.last_status_code ? ` (HTTP ${status.last_status_code})` : ''}`,
          );
          if (ordering) await ordering.end('succeeded');
          return;
        }
        await deadLetterPhase(state, acts, giveUp.reason, acks);
        park = await enterPark(state, ordering);
      }
      if (await parkPhase(state, park.parkedUntil, park.recordAt)) return applyRequeue(state.pendingRequeue ?? {});
      // Retention over: a task still holding its key (`block`) lets it go.
      if (ordering) await ordering.end('park_ended');
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled by our cancel signal/update or from the Web UI / CLI: the task ends as `cancelled`.
    const from = status.state;
    const reason = state.cancelReason ?? 'workflow cancellation requested';
    state.transition(TaskState.Cancelled, `cancelled while ${from}: ${reason}`);
    if (from === TaskState.Delivering) {
      state.record({
        number: status.attempt,
        target: 'primary',
        started_at: status.last_attempt_at ?? new Date(Date.now()).toISOString(),
        duration_ms: 0,
        outcome: AttemptOutcome.Cancelled,
      });
    }
    if (ordering) await CancellationScope.nonCancellable(() => ordering.end('cancelled'));
  }
  // After a cancel the root scope may be cancelled too; finishing the handlers must not be. (Checked first: every
  // scope and promise costs the SDK a stack capture, and on the first-try path no handler is running.)
  if (!allHandlersFinished()) await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return { ...status };
}
