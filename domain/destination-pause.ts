import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Destination pause and resume. One `destinationControl` workflow per destination key (the breaker's key: an HTTP
 * origin, or a Kafka topic on its brokers) and task queue holds the durable, cluster-wide pause state, the tasks
 * waiting for a resume, and the breaker state workers report. Pure and workflow-safe: the API, the workers, the CLI
 * and the workflows share these definitions.
 */
export const DestinationWorkflowType = 'destinationControl';

/** Memo key of the destination's view (GET /destinations and the workers' paused list read it from visibility). */
export const DestinationMemoKey = 'destination';

/** `type` of the non-retryable failure that ends an attempt series because its destination is paused. */
export const DestinationPausedType = 'DestinationPaused';

export const DestinationState = { Active: 'active', Paused: 'paused' } as const;
export type DestinationState = (typeof DestinationState)[keyof typeof DestinationState];

/** Workflow id of a destination's control workflow: per task queue, so services sharing a namespace stay apart. */
export function destinationWorkflowId(taskQueue: string, key: string): string {
  return `destination:${taskQueue}:${key}`;
}

/** A worker's last report of its breaker for the destination. */
export interface BreakerReport {
  /** The reporting worker (its Temporal identity). */
  worker: string;
  /** closed | open | half_open */
  breaker: string;
  /** Failed share of the attempts this worker made to the destination in the last minute, 0…1. */
  failure_rate: number;
  /** Attempts behind `failure_rate`. */
  attempts: number;
  at: string;
}

/** What GET /destinations shows of one destination; also the control workflow's memo and query answer. */
export interface DestinationView {
  key: string;
  state: DestinationState;
  paused_at?: string;
  paused_by?: string;
  /** Why: the operator's reason, or `auto` (failing continuously past the configured time or attempts). */
  reason?: string;
  resumed_at?: string;
  resumed_by?: string;
  /** Tasks in state `paused` waiting for this destination's resume (released ones no longer count). */
  tasks_waiting: number;
  /** Tasks released per second while resuming. */
  resume_per_second?: number;
  /** The newest breaker report of each worker (at most {@link MAX_BREAKER_REPORTS}). */
  breakers: BreakerReport[];
}

/** Worker reports a destination keeps (the newest ones). */
export const MAX_BREAKER_REPORTS = 20;

/** The answer of pause and resume: the view, and whether this request changed the state. */
export interface DestinationChange {
  view: DestinationView;
  /** False when the destination already was in the requested state (the request changed nothing). */
  changed: boolean;
}

export interface PauseRequest {
  /** Who pauses: an operator name, or the worker for an automatic pause. */
  by?: string;
  reason?: string;
}

export interface ResumeRequest {
  by?: string;
  /** Tasks released per second (DESTINATION_RESUME_PER_SECOND unless the request names a rate). */
  per_second: number;
}

/** A task that found its destination paused, waiting for the release signal. */
export interface WaitingTask {
  task_id: string;
  /** When its attempt was due (epoch ms): tasks are released in this order. */
  due_at_ms: number;
}

export const pauseDestinationUpdate = defineUpdate<DestinationChange, [PauseRequest]>('pauseDestination');
export const resumeDestinationUpdate = defineUpdate<DestinationChange, [ResumeRequest]>('resumeDestination');
export const destinationQuery = defineQuery<DestinationView>('destination');
/** From a task whose attempt found the destination paused. */
export const destinationWaitSignal = defineSignal<[WaitingTask]>('waitForDestination');
/** From a paused task that ends before its release (cancelled): it no longer waits. */
export const destinationLeaveSignal = defineSignal<[{ task_id: string }]>('leaveDestination');
/** From a worker whose breaker for the destination changed state. */
export const breakerReportSignal = defineSignal<[BreakerReport]>('breakerReport');
/** To a paused task: its destination resumed and its turn has come. */
export const destinationReleaseSignal = defineSignal('destinationReleased');

/** details[0] of the {@link DestinationPausedType} failure. */
export interface DestinationPausedDetails {
  destination_key: string;
  /** When the attempt that found the destination paused was due (epoch ms). */
  due_at_ms: number;
}

/** Keeps `list` ordered by due time (then task id), inserting `task` (a task already listed moves to its new place). */
export function insertByDue(list: WaitingTask[], task: WaitingTask): WaitingTask[] {
  const rest = list.filter((t) => t.task_id !== task.task_id);
  const at = rest.findIndex(
    (t) => t.due_at_ms > task.due_at_ms || (t.due_at_ms === task.due_at_ms && t.task_id > task.task_id),
  );
  if (at < 0) return [...rest, task];
  return [...rest.slice(0, at), task, ...rest.slice(at)];
}

/**
 * How releases are paced at `perSecond`: `batch` tasks every `intervalMs`, in ticks of at least `minTickMs`. A Temporal
 * timer shorter than a second fires about a second late (100 ms timers of the dev server fired after about 1 s), so
 * finer ticks released a fraction of the rate asked for; control workflows recorded before the
 * `release-pacing-seconds` patch keep their 100 ms ticks so their histories replay unchanged.
 */
export function releasePacing(perSecond: number, minTickMs = 1000): { batch: number; intervalMs: number } {
  const intervalMs = Math.max(minTickMs, Math.round(1000 / perSecond));
  return { batch: Math.max(1, Math.round((perSecond * intervalMs) / 1000)), intervalMs };
}
