import { describe, expect, it } from 'vitest';
import { releasePacing } from '../../domain/destination-pause';

describe('releasePacing', () => {
  it('releases per_second tasks per whole-second tick, so a late-firing timer still gives the rate asked for', () => {
    expect(releasePacing(20)).toEqual({ batch: 20, intervalMs: 1000 });
    expect(releasePacing(10)).toEqual({ batch: 10, intervalMs: 1000 });
    expect(releasePacing(1)).toEqual({ batch: 1, intervalMs: 1000 });
    expect(releasePacing(10_000)).toEqual({ batch: 10_000, intervalMs: 1000 });
  });

  it('keeps one task per tick below one a second', () => {
    expect(releasePacing(0.5)).toEqual({ batch: 1, intervalMs: 2000 });
  });

  it('keeps the 100 ms ticks of histories recorded before the release-pacing-seconds patch', () => {
    expect(releasePacing(20, 100)).toEqual({ batch: 2, intervalMs: 100 });
    expect(releasePacing(10, 100)).toEqual({ batch: 1, intervalMs: 100 });
    expect(releasePacing(1, 100)).toEqual({ batch: 1, intervalMs: 1000 });
  });
});
