import { condition, log, setHandler } from '@temporalio/workflow';
import { turnSignal, type OrphanTurnInput, type TurnGrant } from '../domain/ordering';
import { localHandOver } from './ordering-handoff';

/**
 * Started in a task's place by a grant that found no workflow under the task's id (closed and deleted by retention
 * while its key still queued it; activities/ordering.ts grantTurn): it passes the turn on as the task would have, and
 * ends. A grant that reaches a task that runs never starts it.
 */
export async function orderingOrphanTurn(input: OrphanTurnInput): Promise<void> {
  let grant: TurnGrant | undefined;
  setHandler(turnSignal, (g) => {
    grant ??= g;
  });
  await condition(() => grant !== undefined);
  log.warn('turn granted to a task that no longer exists; passed on', { ...input });
  const [next, ...then] = grant!.then ?? [];
  const chain = grant!.ended !== undefined;
  await localHandOver(input.ordering_key, input.task_id, chain).end('skipped', next, then, grant!.ended);
}
