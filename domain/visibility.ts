import { TaskState, type TaskStatus } from './status';

/**
 * What a task shows outside its workflow — search attributes (filters in the Web UI and GET /tasks) and the status
 * memo (GET /tasks/{id} without a replay) — and the behaviour version that writes them sparingly. Pure and
 * workflow-safe: the workflow, the starter and the API share it.
 */

/**
 * Behaviour versions of the retry workflow, chosen by whoever starts it (the `behaviour` input field) so that
 * histories of earlier versions replay unchanged. 1 (absent): every transition upserts the search attributes.
 * 2 (lean): a transition writes only what changed, `succeeded` is read from the closed execution instead of being
 * upserted, and resting states are written to the status memo. 3 (lean-ordered): lean, and an ordered task takes its
 * turn (workflows/ordering-turn.ts) without the patch markers earlier runs record; its key workflows, too
 * (domain/ordering.ts KeyBehaviour). 4 (hand-off): lean-ordered, and an ordered task whose turn ends hands it on and
 * tells its key by one local activity instead of signal commands (workflows/ordering-handoff.ts). 5 (chain): hand-off,
 * and an ordered task starts deferred (domain/ordering.ts DEFERRED_START_MS) and hands its turn on without telling
 * its key until the chain ends (TurnGrant.ended). 6 (series hand-off): chain, and an ordered task whose delivery
 * succeeds has its attempt series hand the turn on (activities/series.ts) instead of a local activity after it.
 * Tasks without an ordering key run 3 to 6 exactly as 2.
 */
export const WorkflowBehaviour = {
  Initial: 1,
  Lean: 2,
  LeanOrdered: 3,
  HandOff: 4,
  Chain: 5,
  SeriesHandOff: 6,
} as const;
export type WorkflowBehaviour = (typeof WorkflowBehaviour)[keyof typeof WorkflowBehaviour];

/** Memo field holding the task status as of its last resting state (lean behaviour). */
export const StatusMemoKey = 'status';

/**
 * States in which a task rests without a pending attempt series, so the memo is its status. While a series runs,
 * its live progress comes from the pending activity; once closed, the status is the workflow's result.
 */
export const restingStates: readonly TaskState[] = [
  TaskState.Blocked,
  TaskState.Scheduled,
  TaskState.Waiting,
  TaskState.AwaitingAck,
  TaskState.Paused,
  TaskState.DeadLettering,
  TaskState.DeadLettered,
  TaskState.DeadLetterFailed,
];

/** States a task is never left in once its workflow has completed: a completed task in one of them succeeded. */
export const inFlightStates: readonly TaskState[] = [
  TaskState.Blocked,
  TaskState.Scheduled,
  TaskState.Waiting,
  TaskState.Delivering,
  TaskState.AwaitingAck,
  TaskState.Paused,
  TaskState.DeadLettering,
];

/**
 * The task state a closed execution stands for: lean workflows do not upsert `succeeded`, so a completed execution
 * whose last recorded state is an in-flight one ended in success.
 */
export function closedState(executionStatus: string, recorded: string | undefined): string | undefined {
  if (executionStatus === 'COMPLETED' && recorded !== undefined && inFlightStates.includes(recorded as TaskState)) {
    return TaskState.Succeeded;
  }
  return recorded;
}

/** Two optional ISO instants within `toleranceMs` of each other (both absent counts as the same). */
export function nearlySameInstant(a: string | undefined, b: string | undefined, toleranceMs = 1_000): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(Date.parse(a) - Date.parse(b)) < toleranceMs;
}

/** The status a lean task starts with, as its starter writes it into the memo and search attributes. */
export function startingStatus(
  task: { id: string; destination_type: TaskStatus['destination_type']; max_retries: number },
  submittedAt: string,
  firstAttemptAt: string | undefined,
  destination: string,
): TaskStatus {
  const base = {
    task_id: task.id,
    destination_type: task.destination_type,
    attempt: 0,
    max_attempts: task.max_retries,
    submitted_at: submittedAt,
    requeues: 0,
    attempts: [],
  };
  return firstAttemptAt !== undefined && task.max_retries > 0
    ? {
        ...base,
        state: TaskState.Scheduled,
        next_attempt_at: firstAttemptAt,
        details: `attempt 1/${task.max_retries} at ${firstAttemptAt}`,
      }
    : { ...base, state: TaskState.Delivering, details: deliveringDetails(1, task.max_retries, destination) };
}

/** The details line of a task whose attempt series runs. */
export function deliveringDetails(next: number, maxRetries: number, destination: string): string {
  return `attempts ${next}–${maxRetries} to ${destination}; the server holds the waits between them`;
}
