import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import {
  orderingWorkflowId,
  turnEndedSignal,
  turnSignal,
  type TurnEnded,
  type TurnHandOff,
  type TurnHandOffResult,
} from '../domain/ordering';

/**
 * The local activity an ordered task runs when its turn ends (behaviour HandOff, workflows/ordering-handoff.ts): it
 * hands the turn straight to the next task and tells the key, as client signals from the worker. The same two signals
 * sent as workflow commands cost the task four history events and one more workflow task, to learn that they arrived.
 * Safe to repeat (a retried local activity sends them again): a task that holds its turn ignores a second grant, and
 * the key ignores an end it has already seen.
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
  return {
    async handOffTurn(req: TurnHandOff): Promise<TurnHandOffResult> {
      const keyId = orderingWorkflowId(req.ordering_key);
      const own: TurnEnded = { task_id: req.task_id, end: req.end };
      if (req.next === undefined) return { key_reached: await reach(keyId, turnEndedSignal, own) };
      const grant = { granted_at: new Date().toISOString(), then: req.then ?? [] };
      const [handed, keyReached] = await Promise.all([
        reach(req.next, turnSignal, grant),
        reach(keyId, turnEndedSignal, { ...own, handed_to: req.next }),
      ]);
      // The next task is gone (cancelled meanwhile): the key hears so and grants the one after it.
      if (!handed && keyReached) await reach(keyId, turnEndedSignal, { task_id: req.next, end: 'skipped' });
      return { key_reached: keyReached, ...(handed ? { handed_to: req.next } : {}) };
    },
  };
}

export type OrderingActivities = ReturnType<typeof createOrderingActivities>;
