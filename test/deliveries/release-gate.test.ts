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
    expect(g.stats()).toEqual({ armed: 50, instants: 1 });
    const results = await Promise.all(exits);
    for (const r of results) {
      expect(r.exit).toBe('due');
      expect(r.at).toBeGreaterThanOrEqual(due);
    }
    expect(g.stats()).toEqual({ armed: 0, instants: 0 });
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
    expect(g.stats()).toEqual({ armed: 1, instants: 1 });
    g.close();
    await expect(other).resolves.toBe('aborted');
  });

  it('stops waiting when the activity is cancelled, and frees the instant when it was its last waiter', async () => {
    const g = gate();
    const abort = new AbortController();
    const waiting = g.wait('k', Date.now() + 60_000, abort.signal);
    abort.abort();
    await expect(waiting).resolves.toBe('aborted');
    expect(g.stats()).toEqual({ armed: 0, instants: 0 });
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
});
