import { afterEach, describe, expect, it } from 'vitest';
import { ReleaseGate } from '../../activities/release-gate';

/** The worker's due-time batcher, on Node's real timers (short waits: tens of milliseconds). */
describe('release gate', () => {
  const gates: ReleaseGate[] = [];
  const gate = () => {
    const g = new ReleaseGate();
    gates.push(g);
    return g;
  };
  afterEach(() => gates.splice(0).forEach((g) => g.close()));

  it('releases every waiter of one instant together, with one timer for the instant, never before it', async () => {
    const g = gate();
    const due = Date.now() + 80;
    const exits = Array.from({ length: 50 }, (_, i) => g.wait(`k${i}`, due).then((exit) => ({ exit, at: Date.now() })));
    expect(g.stats()).toEqual({ armed: 50, instants: 1, sending: 0 });
    const results = await Promise.all(exits);
    for (const r of results) {
      expect(r.exit).toBe('due');
      expect(r.at).toBeGreaterThanOrEqual(due);
    }
    expect(g.stats()).toEqual({ armed: 0, instants: 0, sending: 50 });
  });

  it('keeps one timer per distinct instant and releases them in due order', async () => {
    const g = gate();
    const now = Date.now();
    const order: string[] = [];
    const waits = [
      g.wait('late', now + 90).then(() => order.push('late')),
      g.wait('early', now + 30).then(() => order.push('early')),
      g.wait('early-2', now + 30).then(() => order.push('early-2')),
    ];
    expect(g.stats().instants).toBe(2);
    await Promise.all(waits);
    expect(order).toEqual(['early', 'early-2', 'late']);
  });

  it('answers at once for a due time already past', async () => {
    await expect(gate().wait('k', Date.now() - 5)).resolves.toBe('due');
  });

  it('releases one waiter early on release_now and holds another back for good on hold', async () => {
    const g = gate();
    const due = Date.now() + 60_000;
    const early = g.wait('a', due);
    const held = g.wait('b', due);
    const other = g.wait('c', due);
    expect(g.command('a', 'release_now')).toBe(true);
    expect(g.command('b', 'hold')).toBe(true);
    await expect(early).resolves.toBe('released_early');
    await expect(held).resolves.toBe('held');
    expect(g.command('a', 'release_now')).toBe(false);
    expect(g.stats()).toEqual({ armed: 1, instants: 1, sending: 0 });
    g.close();
    await expect(other).resolves.toBe('aborted');
  });

  it('stops waiting when the activity is cancelled, and frees the instant when it was its last waiter', async () => {
    const g = gate();
    const abort = new AbortController();
    const waiting = g.wait('k', Date.now() + 60_000, abort.signal);
    abort.abort();
    await expect(waiting).resolves.toBe('aborted');
    expect(g.stats()).toEqual({ armed: 0, instants: 0, sending: 0 });
  });

  it('reports how late each release was', async () => {
    const seen: Array<{ latenessMs: number; count: number }> = [];
    const g = new ReleaseGate(Date.now, (latenessMs, count) => seen.push({ latenessMs, count }));
    gates.push(g);
    const due = Date.now() + 20;
    await Promise.all([g.wait('x', due), g.wait('y', due)]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.count).toBe(2);
    expect(seen[0]!.latenessMs).toBeGreaterThanOrEqual(0);
  });

  it('holds the results of a burst until every send of it has finished', async () => {
    const g = gate();
    const due = Date.now() + 20;
    await Promise.all(['a', 'b', 'c'].map((k) => g.wait(k, due)));
    expect(g.stats().sending).toBe(3);
    const reported: string[] = [];
    const a = g.afterSend('a').then(() => reported.push('a'));
    const b = g.afterSend('b').then(() => reported.push('b'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reported).toEqual([]);
    await Promise.all([g.afterSend('c').then(() => reported.push('c')), a, b]);
    expect(reported.sort()).toEqual(['a', 'b', 'c']);
    expect(g.stats().sending).toBe(0);
  });

  it('lets a burst report after maxHoldMs when one of it never finishes sending', async () => {
    const g = new ReleaseGate(Date.now, undefined, 40);
    gates.push(g);
    const due = Date.now() + 10;
    await Promise.all([g.wait('done', due), g.wait('stuck', due)]);
    const released = Date.now();
    await g.afterSend('done');
    expect(Date.now() - released).toBeGreaterThanOrEqual(35);
    expect(g.stats().sending).toBe(0);
  });

  it('does not hold a delivery released alone, early or after its due time', async () => {
    const g = gate();
    await g.wait('alone', Date.now() + 10);
    await g.wait('late', Date.now() - 10);
    const early = g.wait('early', Date.now() + 60_000);
    g.command('early', 'release_now');
    await early;
    expect(g.stats().sending).toBe(0);
    await Promise.all([g.afterSend('alone'), g.afterSend('late'), g.afterSend('early')]);
  });
});
