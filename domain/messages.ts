import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SentRequeueOverrides } from './task';
import type { TaskState, TaskStatus } from './status';

/**
 * Signals, queries and updates of the retry workflow, defined once so the API, the CLI and the workflow share them.
 * Signals are fire-and-forget (the product's promise: signal-based cancel and requeue); the updates do the same
 * thing but answer synchronously, and their validators reject invalid transitions with a reason.
 */
export const statusQuery = defineQuery<TaskStatus>('status');
/**
 * True when the task has applied (or accepted and is applying) the requeue with this `request_id`. A bulk job asks
 * it when a repeated requeue is refused, to tell its own earlier requeue from a task that was not parked.
 */
export const requeueAppliedQuery = defineQuery<boolean, [string]>('requeueApplied');

export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
export const requeueSignal = defineSignal<[RequeueRequest]>('requeue');
export const retryNowSignal = defineSignal('retryNow');

export const cancelUpdate = defineUpdate<TransitionResult, [CancelRequest]>('cancelTask');
export const requeueUpdate = defineUpdate<TransitionResult, [RequeueRequest]>('requeueTask');
export const retryNowUpdate = defineUpdate<TransitionResult, []>('retryNowTask');

export interface CancelRequest {
  reason?: string;
}
export interface RequeueRequest {
  overrides?: SentRequeueOverrides;
  reason?: string;
  /**
   * Makes the requeue idempotent: a task that was already requeued with this id answers `already_applied` and stays
   * as it is (bulk jobs send one id per job, so a batch repeated after a crash never requeues a task twice).
   */
  request_id?: string;
  /** Reject unless the task is parked (dead_lettered, dead_letter_failed): what a dead-letter requeue wants. */
  only_parked?: boolean;
}
export interface TransitionResult {
  /** State before the transition. */
  previous_state: TaskState;
  /** State right after the transition was accepted. */
  state: TaskState;
  /** True when a requeue with the same `request_id` had already been applied: nothing changed now. */
  already_applied?: boolean;
}

/** The failure `type` an update validator throws for an invalid transition (the API maps it to 409). */
export const InvalidTransitionType = 'InvalidTransition';
