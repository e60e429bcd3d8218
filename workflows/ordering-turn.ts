import { condition, getExternalWorkflowHandle, log, patched, setHandler } from '@temporalio/workflow';
import { waitBeforeAttemptMs } from '../domain/backoff';
import {
  OnDeadLetter,
  enqueueSignal,
  orderingWorkflowId,
  turnEndedSignal,
  turnSignal,
  type TurnEnd,
} from '../domain/ordering';
import { TaskState } from '../domain/status';
import type { RetryTaskState } from './task-state';

/** Where a task stands with its key: waiting for its turn, holding it, or done with it. */
export type TurnPhase = 'waiting' | 'held' | 'released';

/**
 * A task's side of ordered delivery (domain/ordering.ts): it waits in `blocked` until its key workflow grants the
 * turn, and tells the key when its turn ends. Built only for tasks with an `ordering_key`; tasks without one never
 * reach this code. `carried`: where the previous run stood (continue-as-new: retry-now, park, requeue); a first run
 * waits.
 */
export class OrderingTurn {
  private current: TurnPhase;
  private readonly key: string;
  private readonly mode: OnDeadLetter;

  constructor(
    private readonly state: RetryTaskState,
    carried: 'held' | 'released' | undefined,
  ) {
    patched('ordering-turn');
    this.key = state.task.ordering_key!;
    this.mode = state.task.on_dead_letter ?? OnDeadLetter.Continue;
    this.current = carried ?? 'waiting';
    setHandler(turnSignal, () => {
      if (this.current === 'waiting') this.current = 'held';
      // A turn this task is not waiting for (a late duplicate enqueue): hand it back so the key moves on.
      else if (this.current === 'released') this.tell('skipped');
      // Held: the key's liveness probe; nothing to do.
    });
  }

  /** Where this run stands with its key (continue-as-new carries it). */
  get phase(): TurnPhase {
    return this.current;
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
    if (this.current === 'held') return dueAtMs;
    if (!firstRun) {
      // A requeue of a task that had let its key go: to the back of the key.
      this.current = 'waiting';
      const entry = { task_id: task.id, on_dead_letter: this.mode };
      try {
        await getExternalWorkflowHandle(orderingWorkflowId(this.key)).signal(enqueueSignal, entry);
      } catch (err) {
        // The key workflow is gone (terminated by an operator): there is no queue to wait in.
        log.warn('ordering key workflow not reachable; proceeding without waiting', { error: String(err) });
        this.current = 'held';
        return dueAtMs;
      }
    }
    this.state.transition(TaskState.Blocked, `waiting for its turn on ordering key ${this.key}`);
    await condition(() => this.current === 'held');
    return dueAtMs;
  }

  /**
   * The task's turn ended: succeeded, cancelled, or dead-lettered (under `block` the key stays held until a requeue
   * succeeds or a cancel). A task cancelled while waiting leaves the queue.
   */
  async end(end: Exclude<TurnEnd, 'skipped'>): Promise<void> {
    if (this.current === 'released') return;
    if (end === 'dead_lettered' && this.mode === OnDeadLetter.Block) {
      await this.tellAndWait(end);
      return;
    }
    this.current = 'released';
    await this.tellAndWait(end);
  }

  private tell(end: TurnEnd): void {
    this.tellAndWait(end).catch(() => undefined);
  }

  private async tellAndWait(end: TurnEnd): Promise<void> {
    try {
      await getExternalWorkflowHandle(orderingWorkflowId(this.key)).signal(turnEndedSignal, {
        task_id: this.state.task.id,
        end,
      });
    } catch (err) {
      log.warn('ordering key workflow not reachable', { end, error: String(err) });
    }
  }
}
