import {
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { waitBeforeAttemptMs } from '../domain/backoff';
import {
  KeyBehaviour,
  CHAIN_SYNC_MS,
  OnDeadLetter,
  checkInstantFrom,
  enqueueSignal,
  orderingWorkflowId,
  turnSignal,
  waitingDetails,
  type QueueEntry,
  type TurnEnd,
  type TurnGrant,
  type TurnHandOff,
  type TurnHandOffResult,
} from '../domain/ordering';
import { TaskState } from '../domain/status';
import type { CarriedTurn } from './carried-state';
import { handOffRequest, localHandOver, reportHandOff, signalHandOver, type TurnHandOver } from './ordering-handoff';
import { FIRST_CHECK_MS, joinKey } from './ordering-join';
import type { RetryTaskState } from './task-state';

/** Where a task stands with its key: waiting for its turn, holding it, or done with it. */
export type TurnPhase = 'waiting' | 'held' | 'released';

/**
 * A task's side of ordered delivery (domain/ordering.ts): it waits in `blocked` until its key workflow grants the
 * turn, and tells the key when its turn ends. Built only for tasks with an `ordering_key`; tasks without one never
 * reach this code. `carried`: where the previous run stood (continue-as-new: retry-now, park, requeue); a first run
 * waits. `unmarked` (behaviour LeanOrdered, domain/visibility.ts): the checks and the
 * hand-over without the patch markers that tasks of earlier behaviours record (each a marker and an upsert).
 * `local` (behaviour HandOff): the ended turn is handed on by a local activity (workflows/ordering-handoff.ts).
 * `chain` (behaviour Chain): the task started deferred, and its key hears of a chain of hand-offs at its end only.
 * Behaviour SeriesHandOff (wired in retry-task.ts): a successful attempt series hands the turn on itself
 * ({@link seriesHandOff}, {@link handedOff}), and {@link end} then has nothing left to send.
 */
export class OrderingTurn {
  private current: TurnPhase;
  private readonly key: string;
  private readonly mode: OnDeadLetter;
  /** The tasks queued behind this one, as its grant named them: the turn is handed straight to the first. */
  private then: string[] = [];
  /** Behaviour Chain: the tasks of this chain that ended before this one took the turn, unknown to the key so far. */
  private ended: string[];
  private readonly handOver: TurnHandOver;
  /** A turn handed back at once (a late duplicate grant): a signal command, whatever the behaviour before Chain. */
  private readonly handBack: TurnHandOver;
  private readonly unmarked: boolean;
  private readonly chain: boolean;

  constructor(
    private readonly state: RetryTaskState,
    carried: CarriedTurn | undefined,
    how: { unmarked?: boolean; local?: boolean; chain?: boolean } = {},
  ) {
    this.unmarked = how.unmarked ?? false;
    this.chain = how.chain ?? false;
    if (!this.unmarked) patched('ordering-turn');
    this.key = state.task.ordering_key!;
    const id = state.task.id;
    this.handOver = how.local ? localHandOver(this.key, id, this.chain) : signalHandOver(this.key, id);
    this.handBack = this.chain ? this.handOver : signalHandOver(this.key, id);
    this.mode = state.task.on_dead_letter ?? OnDeadLetter.Continue;
    this.current = carried?.phase ?? 'waiting';
    this.ended = carried?.ended ?? [];
    setHandler(turnSignal, async (grant) => {
      if (this.current === 'waiting') {
        this.current = 'held';
        this.then = grant.then ?? [];
        this.ended = grant.ended ?? [];
      } else if (this.current === 'released') {
        // A turn this task is not waiting for (a late duplicate enqueue, or a grant that crossed its cancel): pass it
        // on (Chain: awaited, so the run does not close before its local activity ran), or hand it back to the key.
        const passing = this.passOn(grant).catch(() => undefined);
        if (this.chain) await passing;
      }
      // Held: the key's liveness probe; nothing to do.
    });
  }

  private passOn(grant: TurnGrant): Promise<void> {
    if (!this.chain) return this.handBack.end('skipped');
    const [next, ...then] = grant.then ?? [];
    return this.handBack.end('skipped', next, then, grant.ended ?? []);
  }

  /** What continue-as-new carries: the phase, and the chain's ended tasks the key has not heard of. */
  get carried(): CarriedTurn | undefined {
    if (this.current === 'waiting') return undefined;
    return { phase: this.current, ...(this.ended.length > 0 ? { ended: this.ended } : {}) };
  }

  /**
   * Waits in `blocked` until the turn is granted. A first run was enqueued by its starter; a requeued run that had
   * let its key go enqueues itself at the back. Returns the instant the first attempt is due at: the later of the
   * task's own due time (first runs) and the turn; undefined when the run sets its own first wait (requeue).
   */
  async awaitTurn(firstRun: boolean): Promise<number | undefined> {
    const { task, status } = this.state;
    // Drawn before any wait, so the due time does not depend on when the turn came.
    const ownWaitMs = firstRun
      ? waitBeforeAttemptMs(task, 1, Date.parse(status.submitted_at), Math.random())
      : undefined;
    const dueAtMs = ownWaitMs !== undefined ? Date.parse(status.submitted_at) + ownWaitMs : undefined;
    if (!this.unmarked && !patched('ordering-rejoin')) return this.awaitTurnUnwatched(firstRun, dueAtMs);
    const entry: QueueEntry = { task_id: task.id, on_dead_letter: this.mode, accepted_at: status.submitted_at };
    if (this.current !== 'held') {
      this.current = 'waiting';
      // A requeue of a task that had let its key go: to the back of the key (a fresh key if it has none).
      if (!firstRun && !(await this.join(entry))) this.current = 'held';
    }
    // Chain: a first run that wakes without its turn woke at the end of its start delay: its starter may have stopped
    // before enqueueing it, so it makes sure of its place now (idempotent), not a check interval later.
    if (this.chain && firstRun && this.current === 'waiting') await this.join({ ...entry, rejoin: true });
    this.watch(entry);
    if (this.current !== 'held') {
      this.state.transition(TaskState.Blocked, waitingDetails(this.key));
      await condition(() => this.current === 'held');
    }
    // A task of a chain that now waits for its own due time tells its key at once, so that its view does not lag.
    if (this.chain && this.ended.length > 0 && dueAtMs !== undefined && dueAtMs > Date.now()) {
      await this.rejoinHolding(entry);
    }
    return dueAtMs;
  }

  /**
   * Until the task lets its key go, it makes sure now and then that its key knows it (idempotent): a minute after it
   * starts waiting (its starter may have stopped before enqueueing it), then at the key's common check instants
   * every 6 hours (the key workflow may have been terminated: a fresh one is started, and a task holding the turn
   * keeps it there). One timer at a time, never cancelled: a task that ends first pays one event for it. Chain: a
   * task that took its turn from a chain checks after {@link CHAIN_SYNC_MS}, telling the key which tasks ended before.
   */
  private watch(entry: QueueEntry): void {
    const check = async () => {
      await sleep(this.chain && this.current === 'held' ? CHAIN_SYNC_MS : FIRST_CHECK_MS);
      for (;;) {
        const phase: TurnPhase = this.current;
        if (phase === 'released') return;
        if (phase === 'held') await this.rejoinHolding(entry);
        else await this.join({ ...entry, rejoin: true });
        await sleep(checkInstantFrom(Date.now() + 1) - Date.now());
      }
    };
    check().catch((err) => {
      if (!isCancellation(err)) log.warn('ordering key check failed', { error: String(err) });
    });
  }

  /** Tells the key this task holds the turn, and which tasks of its chain ended before (idempotent). */
  private async rejoinHolding(entry: QueueEntry): Promise<void> {
    const ended = this.ended;
    const told = await this.join({ ...entry, rejoin: true, holding: true, ...(ended.length > 0 ? { ended } : {}) });
    if (told) this.forget(ended);
  }

  /** The key heard of these ended tasks. */
  private forget(told: readonly string[]): void {
    if (told.length > 0) this.ended = this.ended.filter((id) => !told.includes(id));
  }

  /** Joins the key (a key it has to start runs the behaviour that matches this task's). */
  private join(entry: QueueEntry): Promise<boolean> {
    return joinKey(this.key, entry, this.unmarked ? KeyBehaviour.Unmarked : undefined);
  }

  /** Tasks that started before the checks above: they wait without them. */
  private async awaitTurnUnwatched(firstRun: boolean, dueAtMs: number | undefined): Promise<number | undefined> {
    const { task } = this.state;
    if (this.current === 'held') return dueAtMs;
    if (!firstRun) {
      // A requeue of a task that had let its key go: to the back of the key.
      this.current = 'waiting';
      try {
        await getExternalWorkflowHandle(orderingWorkflowId(this.key)).signal(enqueueSignal, {
          task_id: task.id,
          on_dead_letter: this.mode,
        });
      } catch (err) {
        // The key workflow is gone (terminated by an operator): there is no queue to wait in.
        log.warn('ordering key workflow not reachable; proceeding without waiting', { error: String(err) });
        this.current = 'held';
        return dueAtMs;
      }
    }
    this.state.transition(TaskState.Blocked, waitingDetails(this.key));
    await condition(() => this.current === 'held');
    return dueAtMs;
  }

  /**
   * Behaviour SeriesHandOff: what an attempt series is to hand the turn on with if one of its deliveries succeeds —
   * as {@link end} would after it ('succeeded'); undefined unless this task holds the turn.
   */
  seriesHandOff(): TurnHandOff | undefined {
    if (!this.chain || this.current !== 'held') return undefined;
    return handOffRequest(this.key, this.state.task.id, 'succeeded', this.then[0], this.then.slice(1), this.ended);
  }

  /** The series handed the turn on (its delivery succeeded): the turn is over, and the chain's ended tasks went with it. */
  handedOff(result: TurnHandOffResult, sent: TurnHandOff): void {
    this.current = 'released';
    this.ended = [];
    reportHandOff(result, sent);
  }

  /**
   * The task's turn ended: succeeded, cancelled, or dead-lettered (under `block` the key stays held until a requeue
   * succeeds or a cancel). A task cancelled while waiting leaves the queue. A task that held the turn hands it straight
   * to the first task its grant named, and tells the key so.
   */
  async end(end: Exclude<TurnEnd, 'skipped'>): Promise<void> {
    if (this.current === 'released') return;
    const ended = this.ended;
    if (end === 'dead_lettered' && this.mode === OnDeadLetter.Block) {
      await this.handOver.end(end, undefined, undefined, ended);
      return this.forget(ended);
    }
    const next = this.current === 'held' ? this.then[0] : undefined;
    this.current = 'released';
    await this.handOver.end(end, next, this.then.slice(1), ended);
  }
}
