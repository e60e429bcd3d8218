import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createOrderingActivities } from '../../activities/ordering';
import { orderingWorkflowId, type TurnEnded, type TurnGrant } from '../../domain/ordering';
import { OrderingQueue } from '../../workflows/ordering-queue';

type Sent = { to: string; signal: string; arg: unknown };

/** A client whose signals are recorded; `closed` workflows answer not found, `failing` ones an unavailable server. */
function fakeClient(closed: string[] = [], failing: string[] = []) {
  const sent: Sent[] = [];
  const client = {
    workflow: {
      getHandle: (to: string) => ({
        signal: async (def: { name: string }, arg: unknown) => {
          if (failing.includes(to)) throw new Error('14 UNAVAILABLE: server unreachable');
          if (closed.includes(to)) throw new WorkflowNotFoundError('workflow not found', to, undefined);
          sent.push({ to, signal: def.name, arg });
        },
      }),
    },
  } as unknown as Client;
  return { client, sent };
}

const key = 'acct-1';
const keyId = orderingWorkflowId(key);

describe('the hand-off local activity (unit, a recording client)', () => {
  it('hands the turn to the next task with the rest of the list, and tells the key whom it handed it to', async () => {
    const { client, sent } = fakeClient();
    const result = await createOrderingActivities(client).handOffTurn({
      ordering_key: key,
      task_id: 'a',
      end: 'succeeded',
      next: 'b',
      then: ['c', 'd'],
    });
    expect(result).toEqual({ key_reached: true, handed_to: 'b' });
    const turn = sent.find((s) => s.to === 'b');
    expect(turn?.signal).toBe('orderingTurn');
    expect((turn?.arg as TurnGrant).then).toEqual(['c', 'd']);
    expect(sent.filter((s) => s.to === keyId).map((s) => s.arg)).toEqual([
      { task_id: 'a', end: 'succeeded', handed_to: 'b' },
    ]);
  });

  it('a next task that is gone is reported to the key as skipped, so the key grants the one after it', async () => {
    const { client, sent } = fakeClient(['b']);
    const result = await createOrderingActivities(client).handOffTurn({
      ordering_key: key,
      task_id: 'a',
      end: 'dead_lettered',
      next: 'b',
      then: ['c'],
    });
    expect(result).toEqual({ key_reached: true });
    expect(sent.map((s) => [s.to, s.arg])).toEqual([
      [keyId, { task_id: 'a', end: 'dead_lettered', handed_to: 'b' }],
      [keyId, { task_id: 'b', end: 'skipped' }],
    ]);
  });

  it('without a next task it tells the key only; a key that is gone is reported, not retried', async () => {
    const { client, sent } = fakeClient([keyId]);
    const acts = createOrderingActivities(client);
    expect(await acts.handOffTurn({ ordering_key: key, task_id: 'a', end: 'cancelled' })).toEqual({
      key_reached: false,
    });
    expect(sent).toEqual([]);
  });

  it('an unreachable server fails the activity, so it is retried', async () => {
    const { client } = fakeClient([], [keyId]);
    await expect(
      createOrderingActivities(client).handOffTurn({ ordering_key: key, task_id: 'a', end: 'succeeded', next: 'b' }),
    ).rejects.toThrow(/UNAVAILABLE/);
  });

  it('a retried hand-off changes nothing at the key: the repeated end is ignored', () => {
    const queue = new OrderingQueue();
    for (const id of ['a', 'b', 'c']) queue.enqueue({ task_id: id, on_dead_letter: 'continue' });
    queue.granted();
    queue.promiseNext(2);
    const ended: TurnEnded = { task_id: 'a', end: 'succeeded', handed_to: 'b' };
    queue.turnEnded(ended);
    const once = JSON.stringify(queue.carry());
    queue.turnEnded(ended);
    queue.turnEnded({ task_id: 'a', end: 'skipped' });
    expect(JSON.stringify(queue.carry())).toBe(once);
    expect(queue.head?.task_id).toBe('b');
    expect(queue.grantDue, 'b holds the turn it was handed').toBeUndefined();
  });
});
