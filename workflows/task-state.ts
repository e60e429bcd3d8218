import { ApplicationFailure, condition, metricMeter, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import { InvalidTransitionType, type RequeueRequest } from '../domain/messages';
import { requeueOverridesProblem } from '../domain/requeue';
import { MAX_ATTEMPT_LOG, withSeriesProgress, type ReleaseOptions, type SeriesProgress } from '../domain/series';
import { TaskState, parkedStates, type AttemptRecord, type TaskStatus } from '../domain/status';
import { tagTask } from '../domain/destination';
import type { Task } from '../domain/task';
import {
  chainsTurns,
  continueRun,
  isLean,
  type CarriedState,
  type CarriedTurn,
  type RetryTaskInput,
} from './carried-state';
import { waitingDetails, type TurnHandOff, type TurnHandOffResult } from '../domain/ordering';
import { Visibility } from './visibility';

/** Why the current wait should end early, and what to do next. */
export type Interrupt = 'retry_now' | 'requeue';

const requeueableStates: readonly TaskState[] = [
  ...parkedStates,
  TaskState.Scheduled,
  TaskState.Waiting,
  TaskState.AwaitingAck,
];

/**
 * The state of one run of a retry task: its status (what the status query answers), the pending interrupts, and the
 * rules for changing them. Handlers and phases change the task only through this class.
 */
export class RetryTaskState {
  readonly status: TaskStatus;
  /** Set by retry-now or requeue; the phase waiting on it reads and clears it. */
  interrupt: Interrupt | undefined;
  pendingRequeue: RequeueRequest | undefined;
  cancelReason: string | undefined;
  /** True once the run's cancellable work scope has been cancelled. */
  cancelRequested = false;
  /** Set while an attempt series runs: retry-now and requeue may interrupt it. */
  seriesRunning = false;
  /**
   * Behaviour SeriesHandOff, an ordered task: what its next attempt series is to hand the turn on with when a delivery
   * succeeds (undefined: not this series), and what to do once the series says it did (workflows/ordering-turn.ts).
   */
  seriesHandOff?: { request(): TurnHandOff | undefined; done(result: TurnHandOffResult, sent: TurnHandOff): void };
  /** Set by the destination's release signal while the task is `paused` (workflows/pause-phase.ts). */
  released = false;
  /** Ordered tasks: where this run stands with its key, carried to the next run. */
  turn: (() => CarriedTurn | undefined) | undefined;
  private seriesCount = 0;
  /** Ids of the requeues applied in earlier runs ({@link RequeueRequest.request_id}). */
  private readonly requeueRequestIds: readonly string[];
  private readonly entered = metricMeter.createCounter(
    'retry_service_task_state_entered',
    'tasks',
    'Tasks entering a state (succeeded, dead_lettered, dead_letter_failed, cancelled, …), from the workflows.',
  );

  readonly task: Task;
  /** Lean behaviour: fewer visibility writes, the status memo (domain/visibility.ts). */
  private readonly lean: boolean;
  private readonly visibility: Visibility;

  constructor(private readonly input: RetryTaskInput) {
    const { carried } = input;
    const task = tagTask(input.task);
    this.task = task;
    this.requeueRequestIds = carried?.requeue_request_ids ?? [];
    this.lean = isLean(input);
    this.visibility = new Visibility(this.lean);
    // Chain: an ordered task started deferred rests `blocked` as its starter wrote it, even to an update that wakes it.
    const blocked = task.ordering_key !== undefined && chainsTurns(input);
    this.status = carried?.status ?? {
      task_id: task.id,
      state: blocked ? TaskState.Blocked : TaskState.Scheduled,
      destination_type: task.destination_type,
      attempt: 0,
      max_attempts: task.max_retries,
      // Lean: the starter wrote the status memo with its submission time; the API reads that memo.
      submitted_at:
        (this.lean ? Visibility.memoStatus()?.submitted_at : undefined) ??
        new Date(workflowInfo().startTime.getTime()).toISOString(),
      requeues: 0,
      ...(task.ordering_key !== undefined ? { ordering_key: task.ordering_key } : {}),
      details: blocked ? waitingDetails(task.ordering_key!) : 'scheduled',
      attempts: [],
    };
  }

  /** A copy for the status query. */
  snapshot(): TaskStatus {
    return { ...this.status, attempts: [...this.status.attempts] };
  }

  get isOpen(): boolean {
    return this.status.state !== TaskState.Succeeded && this.status.state !== TaskState.Cancelled;
  }

  /** While an attempt series runs, the task may be waiting between attempts (the server holds that wait). */
  get waits(): boolean {
    const { state } = this.status;
    return state === TaskState.Scheduled || state === TaskState.Waiting || this.seriesRunning;
  }

  validateCancel(): void {
    if (!this.isOpen) throw invalid(`task is already ${this.status.state}`);
  }

  /** True when `req` repeats a requeue already applied (or accepted and pending) with the same request id. */
  isRepeatedRequeue(req: RequeueRequest | undefined): boolean {
    const id = req?.request_id;
    return id !== undefined && (this.requeueRequestIds.includes(id) || this.pendingRequeue?.request_id === id);
  }

  validateRequeue(req: RequeueRequest | undefined): void {
    if (this.isRepeatedRequeue(req)) return;
    if (req?.only_parked && !parkedStates.includes(this.status.state)) {
      throw invalid(`task is not dead-lettered; it is ${this.status.state}`);
    }
    if (!requeueableStates.includes(this.status.state) && !this.seriesRunning) {
      throw invalid(`cannot requeue a task that is ${this.status.state}; only parked or waiting tasks can be requeued`);
    }
    if (this.pendingRequeue) throw invalid('a requeue is already in progress');
    const problem = requeueOverridesProblem(req?.overrides, this.task);
    if (problem) throw invalid(problem);
  }

  validateRetryNow(): void {
    if (!this.waits) throw invalid(`retry-now only applies while a task waits; it is ${this.status.state}`);
  }

  requestRequeue(req: RequeueRequest | undefined): void {
    this.pendingRequeue = req ?? {};
    this.interrupt = 'requeue';
  }

  requestRetryNow(): void {
    this.interrupt ??= 'retry_now';
  }

  /** Lead-time release options of this task, if its starter gave them. */
  get release(): ReleaseOptions | undefined {
    return this.input.release;
  }

  /** Enters `state`: status, the state metric, and what shows outside the workflow (workflows/visibility.ts). */
  transition(state: TaskState, details: string, nextAttemptAt?: string): void {
    const { status } = this;
    if (state !== status.state) this.entered.add(1, { state, destination_type: this.task.destination_type });
    status.state = state;
    status.details = details;
    status.next_attempt_at = nextAttemptAt;
    this.visibility.show(status);
  }

  /** New details without a change of state (no visibility write): the Web UI's current details only. */
  showArmed(details: string): void {
    this.status.details = details;
    setCurrentDetails(`**${this.status.state}** · ${details}`);
  }

  /** Appends to the attempt log, keeping the newest {@link MAX_ATTEMPT_LOG} lines. */
  record(entry: AttemptRecord): void {
    const log = this.status.attempts;
    log.push(entry);
    if (log.length > MAX_ATTEMPT_LOG) log.splice(0, log.length - MAX_ATTEMPT_LOG);
  }

  /** Merges an attempt series' progress (its log lines and counters) into the status. */
  mergeSeries(progress: SeriesProgress, live: boolean): void {
    Object.assign(this.status, withSeriesProgress(this.status, progress, MAX_ATTEMPT_LOG, live));
  }

  /** The activity id of the next attempt series of this run. */
  nextSeriesId(prefix: string): string {
    return `${prefix}${++this.seriesCount}`;
  }

  /**
   * Epoch ms past which no attempt may start (max_duration from submission, later by the time spent paused);
   * undefined when unset.
   */
  deadlineMs(): number | undefined {
    const { max_duration } = this.task;
    if (max_duration === undefined) return undefined;
    return Date.parse(this.status.submitted_at) + max_duration * 1000 + (this.status.paused_ms ?? 0);
  }

  /** Waits `ms` (durable timer) unless interrupted; returns the interrupt, if any. */
  async wait(ms: number, summary: string): Promise<Interrupt | undefined> {
    if (this.interrupt) return this.interrupt;
    if (ms > 0) await condition(() => this.interrupt !== undefined, ms, { summary });
    return this.interrupt;
  }

  /**
   * Continues as new with the task and its status, once every handler has finished (workflows/carried-state.ts).
   * `appliedRequestId` is the request id of the requeue this continuation applies; the next run remembers it with the
   * earlier ones.
   */
  continueWith(resume: CarriedState['resume'], nextTask: Task = this.task, appliedRequestId?: string): Promise<never> {
    const ids = appliedRequestId ? [...this.requeueRequestIds, appliedRequestId] : [...this.requeueRequestIds];
    return continueRun(this.input, {
      status: this.status,
      resume,
      task: nextTask,
      requeueRequestIds: ids,
      turn: this.turn,
    });
  }
}

/** The failure an update validator throws for a transition the task cannot make now. */
export function invalid(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type: InvalidTransitionType, message: reason, nonRetryable: true });
}
