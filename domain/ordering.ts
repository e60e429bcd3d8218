import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * Ordered delivery per key: tasks that share an `ordering_key` are attempted one at a time, in acceptance order. One
 * key workflow per key (id {@link orderingWorkflowId}) holds the queue; each task keeps its own workflow and waits in
 * `blocked` until the key workflow grants its turn. Pure and workflow-safe: the workflows and the API share it.
 */

/** What ends a task's hold on its key once it is dead-lettered. */
export const OnDeadLetter = {
  /** The next task proceeds once this one is dead-lettered (a requeue goes to the back of the key). */
  Continue: 'continue',
  /** The key waits until this task is requeued and succeeds, or is cancelled. */
  Block: 'block',
} as const;
export type OnDeadLetter = (typeof OnDeadLetter)[keyof typeof OnDeadLetter];

/** The workflow type of a key's queue. */
export const OrderingKeyWorkflowType = 'orderingKey';

/**
 * The workflow type a turn is granted with (signal-with-start, activities/ordering.ts): a task that runs gets the
 * signal whatever its type; a task id that no longer exists (closed and deleted by retention) starts this one, which
 * passes the turn on (workflows/ordering-orphan.ts).
 */
export const OrphanTurnWorkflowType = 'orderingOrphanTurn';

/** The input of an orphan turn: the key and the task id it stands in for. */
export interface OrphanTurnInput {
  ordering_key: string;
  task_id: string;
}

/**
 * Ordered tasks start deferred by this much (behaviour Chain, domain/visibility.ts): a task whose turn comes sooner
 * runs its first workflow task only then, woken by the grant's signal-with-start; one whose turn has not come wakes at
 * this instant and waits in `blocked` as before (so a task whose starter stopped before enqueueing it still rejoins).
 */
export const DEFERRED_START_MS = 60_000;

/** A waiting task's status details (the starter's memo, the workflow's own status). */
export function waitingDetails(key: string): string {
  return `waiting for its turn on ordering key ${key}`;
}

/** Workflow id of the queue of `key`. */
export function orderingWorkflowId(key: string): string {
  return `ordering-${key}`;
}

/**
 * Behaviour versions of the key workflow, chosen by whoever starts it (its `behaviour` input) so that histories of
 * earlier versions replay unchanged. 1 (absent): the grant's hand-off list and the single probe timer each behind a
 * patch marker (a marker and a search-attribute upsert per key run). 2: both without markers.
 */
export const KeyBehaviour = { Initial: 1, Unmarked: 2 } as const;
export type KeyBehaviour = (typeof KeyBehaviour)[keyof typeof KeyBehaviour];

/**
 * Tasks that wait for (or hold) their turn check their place at the multiples of this interval since the epoch:
 * every task of a key checks at the same instants, so a key workflow terminated meanwhile is replaced, and its tasks
 * have all rejoined, within one interval and {@link GATHER_MS}.
 */
export const CHECK_EVERY_MS = 6 * 3600_000;
/** How long a key workflow restarted after a termination gathers rejoining tasks before it grants the first turn. */
export const GATHER_MS = 10 * 60_000;

/** The next instant, at or after `nowMs`, at which every task of a key checks its place (epoch ms). */
export function checkInstantFrom(nowMs: number): number {
  return Math.ceil(nowMs / CHECK_EVERY_MS) * CHECK_EVERY_MS;
}

/** Until when a key workflow restarted at `nowMs` (its predecessor terminated) gathers rejoining tasks (ISO 8601). */
export function gatherUntil(nowMs: number): string {
  return new Date(checkInstantFrom(nowMs) + GATHER_MS).toISOString();
}

/** A task's place in its key's queue. */
export interface QueueEntry {
  task_id: string;
  on_dead_letter: OnDeadLetter;
  /** When the task was accepted (its `submitted_at`, ISO 8601); orders a task that rejoins its key. */
  accepted_at?: string;
  /**
   * The task enqueues itself because it may have lost its place (its starter stopped before enqueueing it, or the key
   * workflow was terminated): it goes before the not-yet-promised tasks accepted after it, not to the back.
   */
  rejoin?: boolean;
  /** With `rejoin`: the task holds the turn (it was granted by a key workflow that is gone); it goes first. */
  holding?: boolean;
  /** The task started deferred (behaviour Chain): its turn is granted by signal-with-start, which wakes it. */
  deferred?: boolean;
  /**
   * With `holding`: the tasks of its chain that ended before it took the turn (the key was not told,
   * {@link TurnGrant.ended}); they leave the queue and the task becomes its head.
   */
  ended?: string[];
}

/**
 * How a task's turn ended, as the task tells its key. `park_ended`: a dead-lettered task closed at the end of its
 * park_retention. `skipped`: the task got a turn it was not waiting for (a late duplicate enqueue) and hands it back.
 */
export type TurnEnd = 'succeeded' | 'dead_lettered' | 'cancelled' | 'park_ended' | 'skipped';

export interface TurnEnded {
  task_id: string;
  end: TurnEnd;
  /** The task this one handed the turn to directly (the first of its {@link TurnGrant.then}). */
  handed_to?: string;
  /** The tasks of its chain that ended before it, unknown to the key until now ({@link TurnGrant.ended}). */
  ended?: string[];
}

export interface TurnGrant {
  /** When the key granted the turn (ISO 8601). */
  granted_at: string;
  /**
   * The tasks queued behind, in order: when its turn ends, the holder hands the turn straight to the first of them
   * (passing on the rest) and tells the key whom it handed it to, so the next task does not wait for the key.
   */
  then?: string[];
  /**
   * Behaviour Chain: the tasks that held the turn before in this chain of hand-offs and ended, newest last. The key
   * hears of them only when the chain ends (a task with no one to hand to), or from a task that holds the turn longer
   * than {@link CHAIN_SYNC_MS}: a chain of quick turns costs its key no workflow task per task.
   */
  ended?: string[];
}

/** A task that took its turn from a chain tells its key after this long, so the key's view does not lag longer. */
export const CHAIN_SYNC_MS = 10_000;

/** What a task's local activity does when its turn ends (behaviour HandOff): hand the turn on, then tell the key. */
export interface TurnHandOff {
  ordering_key: string;
  task_id: string;
  end: TurnEnd;
  /** The task to hand the turn to (the first of the grant's {@link TurnGrant.then}), and the rest of that list. */
  next?: string;
  then?: string[];
  /**
   * Behaviour Chain: the chain's ended tasks before this one. With `next`, the key is not told (the list grows by this
   * task); without, or when `next` is gone, the key is told of them all.
   */
  ended?: string[];
}

export interface TurnHandOffResult {
  /** False when the key workflow is gone (terminated): the task's checks restart it (workflows/ordering-join.ts). */
  key_reached: boolean;
  /** The task that took the turn: `next`, unless it is closed (the key was then told that it skipped). */
  handed_to?: string;
}

/** The queue of one key, as its query answers. `entries[0]` is the task being attempted (or holding the key). */
export interface KeyQueueView {
  ordering_key: string;
  entries: QueueEntry[];
  /** True once the head has been told it may proceed. */
  head_granted: boolean;
  /** True while a dead-lettered head under `block` holds the key. */
  head_holds: boolean;
}

/**
 * Enqueues tasks at the back of their key, in argument order (a task already in the queue keeps its place). A starter
 * that has several tasks of a key to enqueue at once sends them in one signal (client/key-enqueuer.ts); up to
 * {@link MAX_ENQUEUE_BATCH} at a time.
 */
export const enqueueSignal = defineSignal<[QueueEntry, ...QueueEntry[]]>('orderingEnqueue');
/** The most entries one enqueue signal carries (about 150 bytes each, far below the payload limit). */
export const MAX_ENQUEUE_BATCH = 200;
/** A task tells its key that its turn ended. */
export const turnEndedSignal = defineSignal<[TurnEnded]>('orderingTurnEnded');
/** The key tells a task that it may proceed (sent again as a liveness probe while the task holds the turn). */
export const turnSignal = defineSignal<[TurnGrant]>('orderingTurn');
export const keyQueueQuery = defineQuery<KeyQueueView>('orderingQueue');

/** Where a waiting task stands: its 1-based place and the task directly ahead; undefined when not queued. */
export function placeOf(view: KeyQueueView, taskId: string): { position: number; blocked_by?: string } | undefined {
  const i = view.entries.findIndex((e) => e.task_id === taskId);
  if (i < 0) return undefined;
  return { position: i + 1, ...(i > 0 ? { blocked_by: view.entries[i - 1]!.task_id } : {}) };
}
