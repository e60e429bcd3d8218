import type { DestinationType } from './task';

/** Where a task is in its lifecycle. Parked states (`dead_lettered`, `dead_letter_failed`) wait for requeue/cancel. */
export const TaskState = {
  /** Waiting for its turn behind an earlier task with the same `ordering_key`. */
  Blocked: 'blocked',
  Scheduled: 'scheduled',
  Waiting: 'waiting_retry',
  Delivering: 'delivering',
  /** A 2xx arrived for a destination with `ack_timeout`; the task waits for the receiver's ack or nack. */
  AwaitingAck: 'awaiting_ack',
  /** Its destination is paused: no attempts until a resume releases it (domain/destination-pause.ts). */
  Paused: 'paused',
  DeadLettering: 'dead_lettering',
  Succeeded: 'succeeded',
  DeadLettered: 'dead_lettered',
  DeadLetterFailed: 'dead_letter_failed',
  Cancelled: 'cancelled',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const allTaskStates = Object.values(TaskState) as [TaskState, ...TaskState[]];

/** Parked: the retries are over; the message is kept, waiting for requeue or cancel until the retention ends. */
export const parkedStates: readonly TaskState[] = [TaskState.DeadLettered, TaskState.DeadLetterFailed];
/** Final: the workflow is done or about to be. */
export const finalStates: readonly TaskState[] = [TaskState.Succeeded, TaskState.Cancelled];

/** Outcome of one delivery attempt as the attempt log records it. */
export const AttemptOutcome = {
  Success: 'success',
  Retryable: 'retryable',
  Permanent: 'permanent',
  /** The destination's circuit was open: nothing was sent and the attempt was not counted. */
  Deferred: 'deferred',
  Cancelled: 'cancelled',
} as const;
export type AttemptOutcome = (typeof AttemptOutcome)[keyof typeof AttemptOutcome];

/** One line of a task's attempt log. */
export interface AttemptRecord {
  /** 1-based attempt number within the current run (requeue restarts at 1). */
  number: number;
  /** `primary` for the destination, `dead_letter` for the dead destination. */
  target: 'primary' | 'dead_letter';
  started_at: string;
  duration_ms: number;
  outcome: AttemptOutcome;
  status_code?: number;
  error_class?: string;
  error?: string;
}

/** Why a task went to its dead destination. */
export type DeadLetterReason = 'exhausted' | 'permanent' | 'max_duration';

/** The answer of the `status` query, and the workflow's result once it closes. */
export interface TaskStatus {
  task_id: string;
  state: TaskState;
  destination_type: DestinationType;
  /** Attempts made in the current run (deferred ones not counted). */
  attempt: number;
  max_attempts: number;
  submitted_at: string;
  next_attempt_at?: string;
  last_error?: string;
  last_status_code?: number;
  first_attempt_at?: string;
  last_attempt_at?: string;
  /** Set while a destination's circuit breaker holds deliveries back. */
  circuit_open_until?: string;
  /** Milliseconds the task spent `paused` in total; its max_duration deadline moves by as much. */
  paused_ms?: number;
  /** Set while the task is `awaiting_ack`: the receiver's ack or nack must arrive before this time. */
  ack_deadline?: string;
  dead_letter?: {
    reason: DeadLetterReason;
    /** True when the message reached the dead destination. */
    delivered: boolean;
    delivered_at?: string;
    /** The parked task closes at this time unless requeued or cancelled. */
    parked_until?: string;
  };
  /** How often the task was requeued. */
  requeues: number;
  /** Tasks sharing this key are attempted one at a time, in acceptance order. */
  ordering_key?: string;
  /** While `blocked`: the task directly ahead of this one in its key's queue. */
  blocked_by?: string;
  /** While `blocked`: this task's 1-based place in its key's queue (the task being attempted is 1). */
  position?: number;
  /** Human summary, as shown in the Web UI's current details. */
  details: string;
  attempts: AttemptRecord[];
}
