import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createOrderingActivities } from '../../activities/ordering';
import {
  OrphanTurnWorkflowType,
  orderingWorkflowId,
  type TurnEnded,
  type TurnGrant,
  type TurnHandOff,
} from '../../domain/ordering';
import { OrderingQueue } from '../../workflows/ordering-queue';

type Sent = { to: string; signal: string; arg: unknown; start?: { type: string; reuse: unknown; queue: string } };

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
      signalWithStart: async (
        type: string,
        o: {
          workflowId: string;
          signal: { name: string };
          signalArgs: unknown[];
          workflowIdReusePolicy: unknown;
          taskQueue: string;
        },
      ) => {
        const to = o.workflowId;
        if (failing.includes(to)) throw new Error('14 UNAVAILABLE: server unreachable');
        if (closed.includes(to)) throw new WorkflowExecutionAlreadyStartedError('closed', to, type);
        const start = { type, reuse: o.workflowIdReusePolicy, queue: o.taskQueue };
        sent.push({ to, signal: o.signal.name, arg: o.signalArgs[0], start });
      },
    },
  } as unknown as Client;
  return { client, sent };
}

/** Runs the hand-off as the worker would: inside an activity context on task queue `q`. */
const handOff = (client: Client, req: TurnHandOff) =>
  new MockActivityEnvironment({ taskQueue: 'q' }).run(createOrderingActivities(client).handOffTurn, req);

const key = 'acct-1';
const keyId = orderingWorkflowId(key);

describe('the hand-off local activity (unit, a recording client)', () => {
  it('hands the turn to the next task with the rest of the list, and tells the key whom it handed it to', async () => {
    const { client, sent } = fakeClient();
    const result = await handOff(client, {
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
    const result = await handOff(client, {
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
    expect(await handOff(client, { ordering_key: key, task_id: 'a', end: 'cancelled' })).toEqual({
      key_reached: false,
    });
    expect(sent).toEqual([]);
  });

  it('an unreachable server fails the activity, so it is retried', async () => {
    const { client } = fakeClient([], [keyId]);
    await expect(handOff(client, { ordering_key: key, task_id: 'a', end: 'succeeded', next: 'b' })).rejects.toThrow(
      /UNAVAILABLE/,
    );
  });

  it('grants by signal-with-start, which wakes a deferred task; a closed one is never started again', async () => {
    const { client, sent } = fakeClient();
    await handOff(client, { ordering_key: key, task_id: 'a', end: 'succeeded', next: 'b', then: [] });
    expect(sent.find((s) => s.to === 'b')?.start).toEqual({
      type: OrphanTurnWorkflowType,
      reuse: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      queue: 'q',
    });
  });
});

describe('the hand-off in chains (behaviour Chain)', () => {
  it('hands the turn on with the chain so far and does not tell the key', async () => {
    const { client, sent } = fakeClient();
    const result = await handOff(client, {
      ordering_key: key,
      task_id: 'b',
      end: 'succeeded',
      next: 'c',
      then: ['d'],
      ended: ['a'],
    });
    expect(result).toEqual({ key_reached: true, handed_to: 'c' });
    expect(sent.map((s) => s.to)).toEqual(['c']);
    expect(sent[0]!.arg).toMatchObject({ then: ['d'], ended: ['a', 'b'] });
  });

  it('the end of a chain tells the key of every task that ended in it', async () => {
    const { client, sent } = fakeClient();
    expect(await handOff(client, { ordering_key: key, task_id: 'c', end: 'succeeded', ended: ['a', 'b'] })).toEqual({
      key_reached: true,
    });
    expect(sent.map((s) => [s.to, s.arg])).toEqual([[keyId, { task_id: 'c', end: 'succeeded', ended: ['a', 'b'] }]]);
  });

  it('a next task that is gone ends the chain: the key hears of it too, and grants the one after it', async () => {
    const { client, sent } = fakeClient(['c']);
    const result = await handOff(client, {
      ordering_key: key,
      task_id: 'b',
      end: 'dead_lettered',
      next: 'c',
      then: ['d'],
      ended: ['a'],
    });
    expect(result).toEqual({ key_reached: true });
    expect(sent.map((s) => [s.to, s.arg])).toEqual([
      [keyId, { task_id: 'b', end: 'dead_lettered', ended: ['a', 'c'] }],
    ]);
  });

  it('a dead-lettered task hands the turn on and tells the key at once: it may be requeued to the back', async () => {
    const { client, sent } = fakeClient();
    const result = await handOff(client, {
      ordering_key: key,
      task_id: 'b',
      end: 'dead_lettered',
      next: 'c',
      then: [],
      ended: ['a'],
    });
    expect(result).toEqual({ key_reached: true, handed_to: 'c' });
    expect(sent.map((s) => [s.to, s.arg])).toEqual([
      ['c', expect.objectContaining({ ended: [] })],
      [keyId, { task_id: 'b', end: 'dead_lettered', ended: ['a'], handed_to: 'c' }],
    ]);
  });

  it('the key drops the ended tasks of a chain, and its holder becomes the granted head', () => {
    const queue = new OrderingQueue();
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue({ task_id: id, on_dead_letter: 'continue' });
    queue.granted();
    queue.promiseNext(3);
    // c took the turn from b, which took it from a: c's check tells the key.
    queue.enqueue({ task_id: 'c', on_dead_letter: 'continue', rejoin: true, holding: true, ended: ['a', 'b'] });
    expect(queue.view(key).entries.map((e) => e.task_id)).toEqual(['c', 'd']);
    expect(queue.grantDue, 'c holds the turn').toBeUndefined();
    // d ends a chain that c handed on: both leave; nothing is left to grant.
    queue.turnEnded({ task_id: 'd', end: 'succeeded', ended: ['c'] });
    expect(queue.length).toBe(0);
  });

  it('an id submitted again after its run closed in a chain takes a new place at the back, not the old one', () => {
    const queue = new OrderingQueue();
    const entry = (id: string, at: string) => ({
      task_id: id,
      on_dead_letter: 'continue' as const,
      accepted_at: at,
      deferred: true,
    });
    for (const [id, at] of [
      ['a', 't1'],
      ['b', 't2'],
      ['c', 't3'],
    ] as const)
      queue.enqueue(entry(id, at));
    queue.granted();
    queue.promiseNext(2);
    // A ended and handed the turn to B; the key has not heard yet. A retried enqueue of B changes nothing...
    expect(queue.enqueue(entry('b', 't2'))).toBe(false);
    // ...but A submitted again (a new run, accepted later) goes to the back, and its old place is gone.
    expect(queue.enqueue(entry('a', 't4'))).toBe(true);
    expect(queue.view(key).entries.map((e) => e.task_id)).toEqual(['b', 'c', 'a']);
    expect(queue.grantDue?.task_id, 'the key grants the head again; B, holding, ignores it').toBe('b');
  });

  it('a dead-lettered holder under block holds the key once its chain has left it', () => {
    const queue = new OrderingQueue();
    queue.enqueue({ task_id: 'a', on_dead_letter: 'continue' });
    queue.enqueue({ task_id: 'b', on_dead_letter: 'block' });
    queue.enqueue({ task_id: 'c', on_dead_letter: 'continue' });
    queue.granted();
    queue.promiseNext(2);
    queue.turnEnded({ task_id: 'b', end: 'dead_lettered', ended: ['a'] });
    expect(queue.view(key)).toMatchObject({ head_granted: true, head_holds: true });
    expect(queue.head?.task_id).toBe('b');
    expect(queue.grantDue).toBeUndefined();
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
