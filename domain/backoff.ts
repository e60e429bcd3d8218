import type { JitterMode, Task } from './task';
import { tierSeconds } from './tiers';

/**
 * Backoff math, pure and workflow-safe. All durations in milliseconds unless named `…Seconds`.
 * Attempt k (1-based) waits base_delay·2^(k−1) seconds after the previous failure (seed 002), capped by max_delay.
 */
export function exponentialDelayMs(attempt: number, baseDelaySeconds: number, maxDelaySeconds?: number): number {
  // 2^(k-1) grows past any cap quickly; clamp the exponent so it never overflows to Infinity.
  const raw = baseDelaySeconds * 2 ** Math.min(attempt - 1, 60);
  const capped = maxDelaySeconds === undefined ? raw : Math.min(raw, maxDelaySeconds);
  return Math.round(capped * 1000);
}

/**
 * Applies jitter to a wait. `random` is in [0, 1) (the workflow's deterministic Math.random).
 * `equal`: uniform in [d/2, d]; `full`: uniform in [0, d]. Never exceeds `delayMs`, so never exceeds the cap.
 */
export function withJitter(delayMs: number, mode: JitterMode, random: number): number {
  switch (mode) {
    case 'equal':
      return Math.round(delayMs / 2 + (random * delayMs) / 2);
    case 'full':
      return Math.round(random * delayMs);
    default:
      return delayMs;
  }
}

/** The receiver's Retry-After replaces the computed wait, bounded by max_delay when given. */
export function boundedRetryAfterMs(retryAfterMs: number, maxDelaySeconds?: number): number {
  const nonNegative = Math.max(0, retryAfterMs);
  return maxDelaySeconds === undefined ? nonNegative : Math.min(nonNegative, maxDelaySeconds * 1000);
}

type Policy = Pick<Task, 'base_delay' | 'max_delay' | 'jitter' | 'delay_tier' | 'deliver_at'>;

/**
 * The wait before attempt `attempt`, given `nowMs` (workflow time) and `random` in [0, 1).
 * For attempt 1, `deliver_at` or `delay_tier` replaces the computed wait when given (deliver_at in the past = 0).
 */
export function waitBeforeAttemptMs(policy: Policy, attempt: number, nowMs: number, random: number): number {
  if (attempt === 1 && policy.deliver_at !== undefined) return Math.max(0, Date.parse(policy.deliver_at) - nowMs);
  if (attempt === 1 && policy.delay_tier !== undefined) return tierSeconds(policy.delay_tier) * 1000;
  return withJitter(exponentialDelayMs(attempt, policy.base_delay, policy.max_delay), policy.jitter, random);
}
