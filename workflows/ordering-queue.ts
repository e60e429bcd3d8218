import { OnDeadLetter, type KeyQueueView, type QueueEntry, type TurnEnded } from '../domain/ordering';

/** A queued task as the key keeps it. `promised`: named in a grant's hand-off list (domain/ordering.ts TurnGrant). */
export type KeptEntry = Omit<QueueEntry, 'rejoin' | 'holding' | 'ended'> & { promised?: boolean };

/** What one run of a key workflow hands to the next (continue-as-new). */
export interface OrderingQueueState {
  entries: KeptEntry[];
  head_granted: boolean;
  head_holds: boolean;
}

/**
 * The FIFO of one ordering key: the tasks in acceptance order, whether the head was granted its turn, and whether a
 * dead-lettered head under `block` holds the key. Handlers change it only through these methods.
 */
export class OrderingQueue {
  private readonly entries: KeptEntry[];
  private headGranted: boolean;
  private headHolds: boolean;
  /** True while a grant is on its way to the head: nothing may go before it. */
  granting = false;

  constructor(carried?: OrderingQueueState) {
    this.entries = carried?.entries ?? [];
    this.headGranted = carried?.head_granted ?? false;
    this.headHolds = carried?.head_holds ?? false;
  }

  get length(): number {
    return this.entries.length;
  }

  get head(): QueueEntry | undefined {
    return this.entries[0];
  }

  /** The head, if it still waits to be told it may proceed. */
  get grantDue(): QueueEntry | undefined {
    return this.headGranted ? undefined : this.entries[0];
  }

  /** True while the head has its turn (granted and not yet ended). */
  get headActive(): boolean {
    return this.headGranted && this.entries.length > 0;
  }

  /**
   * Appends a task unless it is already queued (it keeps its place). A late duplicate of a task whose turn already
   * ended gets a turn it does not want: the task hands it back at once (`skipped`), or cannot be reached and is
   * dropped. Returns whether it was added.
   */
  enqueue(entry: QueueEntry): boolean {
    if (entry.holding && entry.ended) this.chainEnded(entry.ended, entry.task_id);
    const present = this.entries.findIndex((e) => e.task_id === entry.task_id);
    if (present >= 0) {
      if (!this.isNewRun(this.entries[present]!, entry)) return false;
      // The id's earlier run closed in a chain the key has not heard the end of yet: its place goes with it.
      this.remove(present);
    }
    const kept: KeptEntry = { task_id: entry.task_id, on_dead_letter: entry.on_dead_letter };
    if (entry.accepted_at !== undefined) kept.accepted_at = entry.accepted_at;
    if (entry.deferred) kept.deferred = true;
    if (entry.holding && !this.headGranted && !this.granting) {
      // A task that already has the turn (from a key workflow that was terminated) keeps it.
      this.entries.unshift(kept);
      this.headGranted = true;
      return true;
    }
    this.entries.splice(entry.rejoin ? this.rejoinIndex(entry.accepted_at) : this.entries.length, 0, kept);
    return true;
  }

  /**
   * A starter's enqueue (behaviour Chain) of an id submitted again after its queued run closed: accepted at another
   * instant. Rejoins, retries of an enqueue and requeues carry the run's own acceptance time.
   */
  private isNewRun(queued: KeptEntry, entry: QueueEntry): boolean {
    const [was, now] = [queued.accepted_at, entry.accepted_at];
    return entry.deferred === true && !entry.rejoin && was !== undefined && now !== undefined && was !== now;
  }

  /**
   * Where a task that rejoins goes: before the first task accepted after it, but never before a head that was granted
   * (or whose grant is on its way) nor before a task already promised a hand-off (that chain may be running without
   * the key). A head not yet granted (a restarted key gathering its tasks) is passed like any other task.
   */
  private rejoinIndex(acceptedAt: string | undefined): number {
    if (acceptedAt === undefined) return this.entries.length;
    let from = this.headGranted || this.granting ? Math.min(1, this.entries.length) : 0;
    this.entries.forEach((e, i) => {
      if (e.promised && i >= from) from = i + 1;
    });
    const later = this.entries.findIndex(
      (e, i) => i >= from && e.accepted_at !== undefined && e.accepted_at > acceptedAt,
    );
    return later < 0 ? this.entries.length : later;
  }

  /** Names up to `n` tasks behind the head for its hand-off list (they are promised: nothing rejoins before them). */
  promiseNext(n: number): string[] {
    const next = this.entries.slice(1, 1 + n);
    for (const e of next) e.promised = true;
    return next.map((e) => e.task_id);
  }

  /** The head was told it may proceed. */
  granted(): void {
    this.headGranted = true;
  }

  /** A task's turn ended (or it left the queue while waiting). */
  turnEnded({ task_id, end, handed_to, ended }: TurnEnded): void {
    if (ended) this.chainEnded(ended, task_id);
    const i = this.entries.findIndex((e) => e.task_id === task_id);
    if (i < 0) return;
    const entry = this.entries[i]!;
    if (i === 0 && end === 'dead_lettered' && entry.on_dead_letter === OnDeadLetter.Block) {
      this.headHolds = true;
      return;
    }
    this.remove(i);
    // The ended head handed the turn straight to its successor: the key need not grant it again.
    if (i === 0 && handed_to !== undefined && this.entries[0]?.task_id === handed_to) this.headGranted = true;
  }

  /**
   * Tasks of a chain of hand-offs ended without telling the key (behaviour Chain): they leave the queue. `holder` took
   * the turn after them: once it is the head, its turn is the granted one.
   */
  private chainEnded(ended: readonly string[], holder: string): void {
    for (const id of ended) {
      const i = this.entries.findIndex((e) => e.task_id === id);
      if (i >= 0) this.remove(i);
    }
    if (ended.length > 0 && this.entries[0]?.task_id === holder) this.headGranted = true;
  }

  /** The head cannot be reached (its workflow is gone): it leaves the queue. */
  dropHead(): QueueEntry | undefined {
    const head = this.entries[0];
    if (head) this.remove(0);
    return head;
  }

  view(orderingKey: string): KeyQueueView {
    return {
      ordering_key: orderingKey,
      entries: this.entries.map((e) => ({ task_id: e.task_id, on_dead_letter: e.on_dead_letter })),
      head_granted: this.headGranted,
      head_holds: this.headHolds,
    };
  }

  carry(): OrderingQueueState {
    return { entries: this.entries, head_granted: this.headGranted, head_holds: this.headHolds };
  }

  private remove(i: number): void {
    this.entries.splice(i, 1);
    if (i === 0) {
      this.headGranted = false;
      this.headHolds = false;
    }
  }
}
