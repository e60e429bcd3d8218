import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { ParentClosePolicy, getExternalWorkflowHandle, isCancellation, log, startChild } from '@temporalio/workflow';
import {
  type KeyBehaviour,
  OrderingKeyWorkflowType,
  enqueueSignal,
  gatherUntil,
  orderingWorkflowId,
  type QueueEntry,
} from '../domain/ordering';
import type { OrderingKeyInput } from './ordering-key';

/** First check of a waiting task: a minute covers a starter that stopped between the task's start and its enqueue. */
export const FIRST_CHECK_MS = 60_000;

/**
 * Puts a task into its key's queue from the task's own workflow: a signal to the key workflow, or, when there is none,
 * a fresh key workflow started with this task queued (a child left running when the task closes). A key that never
 * ran (its starter stopped before enqueueing the key's first task) starts at once; a key that was terminated restarts
 * gathering until shortly after the check instant every task of the key rejoins at (domain/ordering.ts
 * checkInstantFrom), then grants in acceptance order. Idempotent: a queued task keeps its place. A key it starts runs
 * `behaviour` (tasks of earlier behaviours start keys without one). Returns false only when nothing worked.
 */
export async function joinKey(key: string, entry: QueueEntry, behaviour?: KeyBehaviour): Promise<boolean> {
  const keyId = orderingWorkflowId(key);
  if (await signalKey(keyId, entry)) return true;
  const started = await startKey(key, entry, behaviour, WorkflowIdReusePolicy.REJECT_DUPLICATE);
  // Already there: started meanwhile by another task (join it), or closed (terminated: restart it, gathering).
  if (started !== 'exists') return started === 'started';
  if (await signalKey(keyId, entry)) return true;
  const restart = WorkflowIdReusePolicy.ALLOW_DUPLICATE;
  const restarted = await startKey(key, entry, behaviour, restart, gatherUntil(Date.now()));
  return restarted === 'started' || (restarted === 'exists' && (await signalKey(keyId, entry)));
}

async function startKey(
  key: string,
  entry: QueueEntry,
  behaviour: KeyBehaviour | undefined,
  reuse: WorkflowIdReusePolicy,
  gather?: string,
): Promise<'started' | 'exists' | 'failed'> {
  const { rejoin: _rejoin, holding, ...kept } = entry;
  const input: OrderingKeyInput = {
    ordering_key: key,
    carried: { entries: [kept], head_granted: holding === true, head_holds: false },
    ...(gather !== undefined ? { gather_until: gather } : {}),
    ...(behaviour !== undefined ? { behaviour } : {}),
  };
  try {
    await startChild(OrderingKeyWorkflowType, {
      workflowId: orderingWorkflowId(key),
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: reuse,
      staticSummary: `ordering key ${key}: started by task ${entry.task_id}, which found no key workflow`,
    });
    log.warn('ordering key workflow was missing; started one', { ordering_key: key, gather_until: gather });
    return 'started';
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'exists';
    log.warn('ordering key workflow could not be started', { ordering_key: key, error: String(err) });
    return 'failed';
  }
}

async function signalKey(keyId: string, entry: QueueEntry): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(keyId).signal(enqueueSignal, entry);
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return false;
  }
}
