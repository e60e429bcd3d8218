import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  OrphanTurnWorkflowType,
  orderingWorkflowId,
  turnEndedSignal,
  turnSignal,
  type OrphanTurnInput,
  type TurnEnded,
  type TurnGrant,
  type TurnHandOff,
  type TurnHandOffResult,
} from '../domain/ordering';

/** A grant for one task: the key's (workflows/ordering-key.ts) or a hand-off's. */
export interface TurnGrantRequest {
  ordering_key: string;
  task_id: string;
  grant: TurnGrant;
}

/**
 * The local activities of ordered delivery: the hand-off an ordered task runs when its turn ends (behaviour HandOff,
 * workflows/ordering-handoff.ts), and the key's grant to a task that started deferred. They are client calls from the
 * worker: the same signals sent as workflow commands cost the sender four history events and one more workflow task,
 * to learn that they arrived. Safe to repeat (a retried local activity sends them again): a task that holds its turn
 * ignores a second grant, and the key ignores an end it has already seen.
 */
export function createOrderingActivities(client: Client) {
  /** Signals `workflowId` (its latest run); false when it is closed or was never started. */
  const reach = async <A>(workflowId: string, signal: SignalDefinition<[A]>, arg: A): Promise<boolean> => {
    try {
      await client.workflow.getHandle(workflowId).signal(signal, arg);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
  /**
   * Grants a task its turn by signal-with-start, which also wakes a task that started deferred (a plain signal does
   * not end a start delay). False when the task is closed. A task id that no longer exists at all starts an orphan
   * turn in its place, which passes the turn on (workflows/ordering-orphan.ts).
   */
  const grant = async (req: TurnGrantRequest): Promise<boolean> => {
    const args: [OrphanTurnInput] = [{ ordering_key: req.ordering_key, task_id: req.task_id }];
    try {
      await client.workflow.signalWithStart(OrphanTurnWorkflowType, {
        workflowId: req.task_id,
        taskQueue: Context.current().info.taskQueue,
        args,
        signal: turnSignal,
        signalArgs: [req.grant],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  };
  return {
    /** The key's grant (workflows/ordering-key.ts): names the task granted, so its history shows it. */
    async grantTurn(req: TurnGrantRequest): Promise<{ granted_to?: string }> {
      return (await grant(req)) ? { granted_to: req.task_id } : {};
    },
    /**
     * Hands the turn to `next` and tells the key. With `ended` (behaviour Chain) the key is told only when there is no
     * one to hand to, `next` is gone, or this task was dead-lettered: then of every task of the chain that ended.
     */
    async handOffTurn(req: TurnHandOff): Promise<TurnHandOffResult> {
      const keyId = orderingWorkflowId(req.ordering_key);
      const own: TurnEnded = { task_id: req.task_id, end: req.end };
      const chain = req.ended !== undefined;
      const grantNext = (next: string, ended?: string[]) => {
        const g: TurnGrant = { granted_at: new Date().toISOString(), then: req.then ?? [] };
        if (ended) g.ended = ended;
        return grant({ ordering_key: req.ordering_key, task_id: next, grant: g });
      };
      if (chain) {
        // A dead-lettered task stays open and may be requeued to the back: the key hears of its end at once.
        const tell = req.end === 'dead_lettered';
        const passed = tell ? [] : [...req.ended!, req.task_id];
        const handed = req.next !== undefined && (await grantNext(req.next, passed));
        if (handed && !tell) return { key_reached: true, handed_to: req.next };
        // The end of the chain, or its next task is gone (cancelled meanwhile): the key hears of them all.
        const ended = [...req.ended!, ...(req.next !== undefined && !handed ? [req.next] : [])];
        const to = handed ? { handed_to: req.next } : {};
        return { key_reached: await reach(keyId, turnEndedSignal, { ...own, ended, ...to }), ...to };
      }
      if (req.next === undefined) return { key_reached: await reach(keyId, turnEndedSignal, own) };
      const [handed, keyReached] = await Promise.all([
        grantNext(req.next),
        reach(keyId, turnEndedSignal, { ...own, handed_to: req.next }),
      ]);
      // The next task is gone (cancelled meanwhile): the key hears so and grants the one after it.
      if (!handed && keyReached) await reach(keyId, turnEndedSignal, { task_id: req.next, end: 'skipped' });
      return { key_reached: keyReached, ...(handed ? { handed_to: req.next } : {}) };
    },
  };
}

export type OrderingActivities = ReturnType<typeof createOrderingActivities>;
