import { allHandlersFinished, condition, continueAsNew, makeContinueAsNewFunc, patched } from '@temporalio/workflow';
import type { ReleaseOptions } from '../domain/series';
import type { TaskStatus } from '../domain/status';
import type { StoredTask, Task } from '../domain/task';
import { StatusMemoKey, WorkflowBehaviour } from '../domain/visibility';

/** State carried from one run to the next (requeue and long histories continue as new). */
export interface CarriedState {
  status: TaskStatus;
  /** Where the next run picks up. */
  resume:
    | { phase: 'deliver'; next_attempt: number; retry_after_ms?: number; immediate?: boolean }
    | { phase: 'park'; parked_until: string };
  /** Request ids of the requeues applied so far (newest last, at most {@link MAX_REQUEUE_REQUEST_IDS}). */
  requeue_request_ids?: string[];
  /** Ordered tasks: whether the previous run held its key's turn or was done with it (workflows/ordering-turn.ts). */
  ordering_turn?: 'held' | 'released';
  /** Behaviour Chain: the tasks that ended before this one in its chain, which its key has not heard of yet. */
  ordering_ended?: string[];
}

/** Where an ordered task's run stood with its key, as the next run picks it up. */
export interface CarriedTurn {
  phase: 'held' | 'released';
  ended?: string[];
}

/** The turn a run carried over (undefined for a first run, or one that had not yet had its turn). */
export function carriedTurn(carried: CarriedState | undefined): CarriedTurn | undefined {
  const phase = carried?.ordering_turn;
  if (phase === undefined) return undefined;
  return { phase, ...(carried?.ordering_ended ? { ended: carried.ordering_ended } : {}) };
}

/** Request ids a task remembers: enough for every bulk job that could still repeat a batch. */
export const MAX_REQUEUE_REQUEST_IDS = 20;

export interface RetryTaskInput {
  /** Inputs recorded before destinations declared their kind hold none; the state fills it in. */
  task: StoredTask;
  carried?: CarriedState;
  /** Lead-time release: waits longer than the lead end early and the delivery is armed in a worker. Off when absent. */
  release?: ReleaseOptions;
  /** Behaviour version (domain/visibility.ts); absent = {@link WorkflowBehaviour.Initial}, as recorded histories. */
  behaviour?: WorkflowBehaviour;
}

type RetryTaskWorkflow = (input: RetryTaskInput) => Promise<TaskStatus>;

/** True when the run follows the lean behaviour: fewer visibility writes, the status memo (domain/visibility.ts). */
export function isLean(input: RetryTaskInput): boolean {
  return (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.Lean;
}

/** True when an ordered task's run takes its turn without patch markers (workflows/ordering-turn.ts). */
export function isLeanOrdered(input: RetryTaskInput): boolean {
  return (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.LeanOrdered;
}

/** True when an ordered task's ended turn is handed on by a local activity (workflows/ordering-handoff.ts). */
export function handsOffLocally(input: RetryTaskInput): boolean {
  return (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.HandOff;
}

/** True when an ordered task started deferred and hands its turn on in chains (domain/ordering.ts TurnGrant.ended). */
export function chainsTurns(input: RetryTaskInput): boolean {
  return (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.Chain;
}

/** True when an ordered task's successful attempt series hands its turn on (activities/series.ts). */
export function handsOffInSeries(input: RetryTaskInput): boolean {
  return (input.behaviour ?? WorkflowBehaviour.Initial) >= WorkflowBehaviour.SeriesHandOff;
}

/** What one run hands to the next when it continues as new. */
export interface Continuation {
  status: TaskStatus;
  resume: CarriedState['resume'];
  task: Task;
  /** Every requeue request id applied so far, this run's last. */
  requeueRequestIds: readonly string[];
  /** Ordered tasks: where this run stands with its key, read once every handler has finished. */
  turn: (() => CarriedTurn | undefined) | undefined;
}

/**
 * Continues as new once every handler has finished. The next run gets the task, its status and where to resume; the
 * release options and behaviour version of this run (`input`) stay as they are.
 */
export async function continueRun(input: RetryTaskInput, next: Continuation): Promise<never> {
  await condition(allHandlersFinished);
  const { status, resume, requeueRequestIds: ids } = next;
  const held = next.turn?.();
  const turn = held ? { ordering_turn: held.phase, ...(held.ended ? { ordering_ended: held.ended } : {}) } : {};
  // Only runs that saw a request id carry the list, so earlier histories continue with the input they recorded.
  const carried: CarriedState =
    ids.length > 0 && patched('jobs-requeue-request-id')
      ? { status, resume, ...turn, requeue_request_ids: ids.slice(-MAX_REQUEUE_REQUEST_IDS) }
      : { status, resume, ...turn };
  const nextInput: RetryTaskInput = { task: next.task, carried, release: input.release };
  if (!isLean(input)) return continueAsNew<RetryTaskWorkflow>(nextInput);
  // The memo is not carried over by itself: the next run starts with the status it continues from.
  return makeContinueAsNewFunc<RetryTaskWorkflow>({ memo: { [StatusMemoKey]: status } })({
    ...nextInput,
    behaviour: input.behaviour,
  });
}
