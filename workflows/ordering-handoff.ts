import { getExternalWorkflowHandle, log, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderingActivities } from '../activities/ordering';
import {
  orderingWorkflowId,
  turnEndedSignal,
  turnSignal,
  type TurnEnd,
  type TurnGrant,
  type TurnHandOff,
  type TurnHandOffResult,
} from '../domain/ordering';

/** How a task whose turn ended reaches the next task and its key (workflows/ordering-turn.ts). */
export interface TurnHandOver {
  /**
   * Hands the turn to `next` (passing on `then`) and tells the key; without `next`, tells the key only. `ended`: the
   * tasks of this chain that ended before, still unknown to the key (behaviour Chain only).
   */
  end(end: TurnEnd, next?: string, then?: string[], ended?: string[]): Promise<void>;
}

// Local: two signals from the worker that runs the task, recorded as one marker. Retried until the server answers
// (a worker stopping meanwhile hands it to the next workflow task); repeats are harmless (activities/ordering.ts).
const { handOffTurn, grantTurn } = proxyLocalActivities<OrderingActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Behaviour HandOff (domain/visibility.ts): one local activity, no signal commands and no workflow task after them.
 * `chain` (behaviour Chain): a turn handed on is not told to the key; the chain's ended tasks go with it.
 */
export function localHandOver(key: string, taskId: string, chain = false): TurnHandOver {
  return {
    async end(end, next, then, ended = []) {
      const request = handOffRequest(key, taskId, end, next, then, chain ? ended : undefined);
      reportHandOff(await handOffTurn(request), request);
    },
  };
}

/**
 * What a hand-off sends (activities/ordering.ts `handOffTurn`): the turn to `next`, passing on `then`, or the key only
 * without `next`. `ended` (behaviour Chain): the chain's ended tasks the key has not heard of.
 */
export function handOffRequest(
  key: string,
  taskId: string,
  end: TurnEnd,
  next?: string,
  then?: string[],
  ended?: string[],
): TurnHandOff {
  return {
    ordering_key: key,
    task_id: taskId,
    end,
    ...(next !== undefined ? { next, then } : {}),
    ...(ended !== undefined ? { ended } : {}),
  };
}

/** Logs what a hand-off could not reach: the key workflow (terminated), or the task it was to hand the turn to. */
export function reportHandOff(result: TurnHandOffResult, sent: TurnHandOff): void {
  if (!result.key_reached) log.warn('ordering key workflow not reachable', { end: sent.end });
  if (sent.next !== undefined && result.handed_to === undefined) {
    log.warn('ordered task to hand the turn to not reachable', { task_id: sent.next });
  }
}

/** The key grants a task that started deferred its turn: signal-with-start wakes it. False when it is closed. */
export async function grantLocally(key: string, taskId: string, grant: TurnGrant): Promise<boolean> {
  return (await grantTurn({ ordering_key: key, task_id: taskId, grant })).granted_to !== undefined;
}

/** Earlier behaviours: the signals are workflow commands, and the task waits until the server delivered them. */
export function signalHandOver(key: string, taskId: string): TurnHandOver {
  const tell = async (end: TurnEnd, handedTo?: string, endedId = taskId): Promise<void> => {
    try {
      await getExternalWorkflowHandle(orderingWorkflowId(key)).signal(turnEndedSignal, {
        task_id: endedId,
        end,
        ...(handedTo !== undefined ? { handed_to: handedTo } : {}),
      });
    } catch (err) {
      log.warn('ordering key workflow not reachable', { end, error: String(err) });
    }
  };
  const handTo = async (next: string, then: string[]): Promise<boolean> => {
    try {
      await getExternalWorkflowHandle(next).signal(turnSignal, {
        granted_at: new Date(Date.now()).toISOString(),
        then,
      });
      return true;
    } catch (err) {
      log.warn('ordered task to hand the turn to not reachable', { task_id: next, error: String(err) });
      return false;
    }
  };
  return {
    async end(end, next, then = []) {
      if (next === undefined) return tell(end);
      // Hand the turn straight to the next task and tell the key so, at once; if the next task is gone, the key
      // hears that too and grants the one after it.
      const [handed] = await Promise.all([handTo(next, then), tell(end, next)]);
      if (!handed) await tell('skipped', undefined, next);
    },
  };
}
