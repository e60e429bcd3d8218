import { describe, expect, it } from 'vitest';
import { boundedRetryAfterMs, exponentialDelayMs, waitBeforeAttemptMs, withJitter } from '../../domain/backoff';
import { delayTierNames, delayTiers, tierSeconds, tierTopic } from '../../domain/tiers';

describe('backoff (pure, no server)', () => {
  it('waits base_delay·2^(k−1) before attempt k, capped by max_delay, without overflowing', () => {
    expect([1, 2, 3, 4, 5].map((k) => exponentialDelayMs(k, 10))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
    expect([1, 2, 3, 4].map((k) => exponentialDelayMs(k, 10, 30))).toEqual([10_000, 20_000, 30_000, 30_000]);
    expect(Number.isFinite(exponentialDelayMs(5000, 1))).toBe(true);
  });

  it('keeps jittered waits in [d/2, d] (equal) and [0, d] (full), and leaves them alone without jitter', () => {
    expect(withJitter(1000, 'none', 0.3)).toBe(1000);
    expect(withJitter(1000, 'equal', 0)).toBe(500);
    expect(withJitter(1000, 'equal', 1)).toBe(1000);
    expect(withJitter(1000, 'full', 0)).toBe(0);
    expect(withJitter(1000, 'full', 1)).toBe(1000);
  });

  it('honours Retry-After up to max_delay and never below zero', () => {
    expect(boundedRetryAfterMs(5_000)).toBe(5_000);
    expect(boundedRetryAfterMs(500_000, 60)).toBe(60_000);
    expect(boundedRetryAfterMs(-1)).toBe(0);
  });

  it('waits for deliver_at or the tier before attempt 1 only', () => {
    const policy = { base_delay: 10, jitter: 'none' as const };
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(waitBeforeAttemptMs({ ...policy, deliver_at: '2030-01-01T00:01:00Z' }, 1, now, 0)).toBe(60_000);
    expect(waitBeforeAttemptMs({ ...policy, deliver_at: '2029-01-01T00:00:00Z' }, 1, now, 0)).toBe(0);
    expect(waitBeforeAttemptMs({ ...policy, delay_tier: '2m' }, 1, now, 0)).toBe(120_000);
    expect(waitBeforeAttemptMs({ ...policy, delay_tier: '2m' }, 2, now, 0)).toBe(20_000);
  });
});

describe('delay tiers', () => {
  it('ladders from 5 s to 5 d in ascending order and names one topic per tier', () => {
    expect(delayTierNames[0]).toBe('5s');
    expect(delayTierNames.at(-1)).toBe('5d');
    const seconds = delayTierNames.map(tierSeconds);
    expect([...seconds].sort((a, b) => a - b)).toEqual(seconds);
    expect(delayTiers['5d']).toBe(5 * 86_400);
    expect(tierTopic('retry.delay.', '30s')).toBe('retry.delay.30s');
  });
});
