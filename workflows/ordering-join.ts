import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, getExternalWorkflowHandle, isCancellation, log, startChild } from '@temporalio/workflow';
import { OrderingKeyWorkflowType, enqueueSignal, orderingWorkflowId, type QueueEntry } from '../domain/ordering';
import type { OrderingKeyInput } from './ordering-key';

/** First check of a waiting task: a minute covers a starter that stopped between the task's start and its enqueue. */
export const FIRST_CHECK_MS = 60_000;
/** Later checks of a waiting task: a key workflow terminated meanwhile is replaced within this time. */
export const CHECK_EVERY_MS = 3600_000;

/**
 * Puts a task into its key's queue from the task's own workflow: a signal to the key workflow, or, when there is none
 * (its starter never enqueued the first task of the key, or the key workflow was terminated), a fresh key workflow
 * started with this task queued (a child left running when the task closes). Idempotent: a queued task keeps its
 * place. Returns false only when neither worked.
 */
export async function joinKey(key: string, entry: QueueEntry): Promise<boolean> {
  const keyId = orderingWorkflowId(key);
  if (await signalKey(keyId, entry)) return true;
  try {
    const { rejoin: _, ...kept } = entry;
    const input: OrderingKeyInput = {
      ordering_key: key,
      carried: { entries: [kept], head_granted: false, head_holds: false },
    };
    await startChild(OrderingKeyWorkflowType, {
      workflowId: keyId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `ordering key ${key}: restarted by task ${entry.task_id}, which found no key workflow`,
    });
    log.warn('ordering key workflow was missing; started a fresh one', { ordering_key: key });
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Another task of the key started it first: join that one.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return signalKey(keyId, entry);
    log.warn('ordering key workflow could not be started', { ordering_key: key, error: String(err) });
    return false;
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
