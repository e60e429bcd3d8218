import { describe, expect, it } from 'vitest';
import { OffsetWindow } from '../../ingress/offset-window';

describe('ingress offset window (pure, no broker)', () => {
  it('resolves nothing until the first offset of the batch is done, however many later ones are', () => {
    const w = new OffsetWindow();
    w.take('10');
    const done11 = w.take('11');
    const done12 = w.take('12');
    done12();
    done11();
    const resolved: string[] = [];
    expect(w.advance((o) => resolved.push(o))).toBeUndefined();
    expect(resolved).toEqual([]);
  });

  it('resolves the contiguous done prefix in offset order and commits one past its end', () => {
    const w = new OffsetWindow();
    const [d10, d11, , d13] = ['10', '11', '12', '13'].map((o) => w.take(o));
    d11!();
    d13!();
    d10!();
    const resolved: string[] = [];
    expect(w.advance((o) => resolved.push(o))).toBe(12n);
    expect(resolved).toEqual(['10', '11']);
  });

  it('moves on from where it stopped once the gap is filled, passing each offset once', () => {
    const w = new OffsetWindow();
    const d = ['7', '8', '9'].map((o) => w.take(o));
    d[0]!();
    const resolved: string[] = [];
    expect(w.advance((o) => resolved.push(o))).toBe(8n);
    d[2]!();
    expect(w.advance((o) => resolved.push(o))).toBe(8n);
    d[1]!();
    expect(w.advance((o) => resolved.push(o))).toBe(10n);
    expect(w.advance((o) => resolved.push(o))).toBe(10n);
    expect(resolved).toEqual(['7', '8', '9']);
  });

  it('keeps an abandoned offset (never marked done) and everything after it uncommitted', () => {
    const w = new OffsetWindow();
    w.take('0').call(undefined);
    w.take('1'); // abandoned on shutdown: its start was never accepted
    w.take('2')();
    expect(w.advance()).toBe(1n);
  });

  it('counts offsets beyond 2^53 exactly', () => {
    const w = new OffsetWindow();
    w.take('9007199254740993')();
    expect(w.advance()).toBe(9007199254740994n);
  });
});
