import { describe, expect, it } from 'vitest';
import { KeyEnqueuer, planBatch, startOrder } from '../../client/key-enqueuer';
import { MAX_ENQUEUE_BATCH, OnDeadLetter, type QueueEntry } from '../../domain/ordering';

const entry = (taskId: string): QueueEntry => ({
  task_id: taskId,
  on_dead_letter: OnDeadLetter.Continue,
  deferred: true,
});

/** An enqueuer whose signals wait until released by hand; `sent` lists each signal's key and task ids. */
function manual() {
  const sent: { key: string; ids: string[] }[] = [];
  const pending: { resolve(): void; reject(err: unknown): void }[] = [];
  const enqueuer = new KeyEnqueuer((key, entries) => {
    sent.push({ key, ids: entries.map((e) => e.task_id) });
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  });
  const settle = async (ok = true) => {
    const next = pending.shift()!;
    if (ok) next.resolve();
    else next.reject(new Error('14 UNAVAILABLE'));
    await new Promise((r) => setImmediate(r));
  };
  return { enqueuer, sent, settle };
}

describe('KeyEnqueuer (group commit of enqueues per key)', () => {
  it('sends a lone entry at once, and entries that come while it is on its way together in the next signal', async () => {
    const { enqueuer, sent, settle } = manual();
    const first = enqueuer.reserve('k').fill(entry('a'));
    expect(sent).toEqual([{ key: 'k', ids: ['a'] }]);
    const later = ['b', 'c', 'd'].map((id) => enqueuer.reserve('k').fill(entry(id)));
    const otherKey = enqueuer.reserve('other').fill(entry('x'));
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual({ key: 'other', ids: ['x'] });
    await settle();
    await first;
    expect(sent[2]).toEqual({ key: 'k', ids: ['b', 'c', 'd'] });
    await settle();
    await settle();
    await Promise.all([...later, otherKey]);
  });

  it('keeps the order places were taken in: an unfilled place holds back the later ones until filled or given up', async () => {
    const { enqueuer, sent, settle } = manual();
    const [p1, p2, p3, p4] = [1, 2, 3, 4].map(() => enqueuer.reserve('k'));
    const filled = [p4!.fill(entry('t4')), p2!.fill(entry('t2'))];
    expect(sent).toEqual([]);
    p1!.giveUp();
    expect(sent).toEqual([{ key: 'k', ids: ['t2'] }]);
    const third = p3!.fill(entry('t3'));
    await settle();
    expect(sent[1]).toEqual({ key: 'k', ids: ['t3', 't4'] });
    await settle();
    await Promise.all([...filled, third]);
    p2!.giveUp();
    expect(sent).toHaveLength(2);
    await expect(p2!.fill(entry('t2'))).rejects.toThrow(/used twice/);
  });

  it('fails the places behind a signal that failed, so none overtakes it; places taken afterwards go on', async () => {
    const { enqueuer, sent, settle } = manual();
    const a = enqueuer.reserve('k').fill(entry('a'));
    const b = enqueuer.reserve('k').fill(entry('b'));
    const unfilled = enqueuer.reserve('k');
    const failed = Promise.all([a, b].map((p) => expect(p).rejects.toThrow('UNAVAILABLE')));
    await settle(false);
    await failed;
    await expect(unfilled.fill(entry('c'))).rejects.toThrow('UNAVAILABLE');
    expect(sent).toEqual([{ key: 'k', ids: ['a'] }]);
    const later = enqueuer.reserve('k').fill(entry('d'));
    expect(sent[1]).toEqual({ key: 'k', ids: ['d'] });
    await settle();
    await later;
  });

  it(`sends at most ${MAX_ENQUEUE_BATCH} entries per signal`, async () => {
    const { enqueuer, sent, settle } = manual();
    const all = Array.from({ length: MAX_ENQUEUE_BATCH + 2 }, (_, i) => enqueuer.reserve('k').fill(entry(`t${i}`)));
    await settle();
    expect(sent.map((s) => s.ids.length)).toEqual([1, MAX_ENQUEUE_BATCH]);
    await settle();
    expect(sent.map((s) => s.ids.length)).toEqual([1, MAX_ENQUEUE_BATCH, 1]);
    await settle();
    await Promise.all(all);
  });
});

describe('startOrder (a batch started so that the enqueues of a key meet)', () => {
  it('puts the items of a key next to each other in item order, keys as they first appear, unkeyed items in place', () => {
    expect(startOrder(['a', 'b', undefined, 'a', 'c', 'b', 'a'])).toEqual([0, 3, 6, 1, 5, 2, 4]);
    expect(startOrder([undefined, undefined])).toEqual([0, 1]);
    expect(startOrder([])).toEqual([]);
  });
});

describe('planBatch', () => {
  it('takes every place in item order before any start, so a key keeps item order whatever order the starts end in', async () => {
    const { enqueuer, sent, settle } = manual();
    const { order, places } = planBatch(enqueuer, ['a', undefined, 'a', 'a']);
    expect(order).toEqual([0, 2, 3, 1]);
    expect(places[1]).toBeUndefined();
    // The starts end in another order than the items: the last item's start first.
    const filled = [3, 2, 0].map((i) => places[i]!.fill(entry(`t${i}`)));
    // Nothing goes before the first item's place is filled; then all three, in item order.
    expect(sent).toEqual([{ key: 'a', ids: ['t0', 't2', 't3'] }]);
    await settle();
    await Promise.all(filled);
  });
});
