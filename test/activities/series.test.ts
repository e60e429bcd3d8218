import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createSeriesActivity } from '../../activities/series';
import type { DeliveryRequest } from '../../domain/delivery';
import { SeriesEndedType, type SeriesEnded, type SeriesProgress, type SeriesRequest } from '../../domain/series';

const delivery = {
  kind: 'http',
  task_id: 'task-1',
  attempt: 1,
  target: 'primary',
  url: 'https://receiver.example/hook',
} as unknown as DeliveryRequest;

function request(maxAttempts: number): SeriesRequest {
  return {
    delivery,
    first_attempt: 1,
    max_attempts: maxAttempts,
    policy: { base_delay: 1, max_delay: 60, jitter: 'none' },
  };
}

/** Progress as the series leaves it after attempt `attempt` failed in Temporal attempt `temporalAttempt`. */
function afterFailure(attempt: number, temporalAttempt: number, inFlight: boolean): SeriesProgress {
  return {
    attempt,
    temporal_attempt: temporalAttempt,
    in_flight: inFlight,
    attempts: [],
    last_attempt_at: new Date(0).toISOString(),
  };
}

/** Runs the series activity as Temporal attempt `temporalAttempt` carrying `carried`; records the attempt sent. */
async function runAs(temporalAttempt: number, carried: SeriesProgress | undefined, maxAttempts = 3) {
  const sent: number[] = [];
  const series = createSeriesActivity(async (req) => {
    sent.push(req.attempt);
    return { status_code: 200, duration_ms: 1 } as never;
  });
  const env = new MockActivityEnvironment({
    attempt: temporalAttempt,
    heartbeatDetails: carried,
    currentAttemptScheduledTimestampMs: Date.now(),
  });
  const result = await env.run(series, request(maxAttempts)).catch((err: unknown) => err);
  return { result, sent };
}

describe('attempt series after a crash', () => {
  it('does not count Temporal attempts that died before their in-flight mark (never started)', async () => {
    // Attempt 1 failed in Temporal attempt 1; Temporal attempts 2 and 3 died before sending (worker killed).
    const { result, sent } = await runAs(4, afterFailure(1, 1, false));
    expect(sent).toEqual([2]);
    const progress = (result as { progress: SeriesProgress }).progress;
    expect(progress.attempt).toBe(2);
    expect(progress.attempts.map((a) => a.outcome)).toEqual(['success']);
  });

  it('counts and logs an attempt that was in flight when its worker died (outcome unknown)', async () => {
    const { result, sent } = await runAs(2, afterFailure(1, 1, true));
    expect(sent).toEqual([2]);
    const progress = (result as { progress: SeriesProgress }).progress;
    expect(progress.attempts.map((a) => [a.number, a.error_class])).toEqual([
      [1, 'outcome_unknown'],
      [2, undefined],
    ]);
  });

  it('ends the series as exhausted when the unknown attempt was the last one', async () => {
    const { result, sent } = await runAs(2, afterFailure(1, 1, true), 1);
    expect(sent).toEqual([]);
    expect(result).toBeInstanceOf(ApplicationFailure);
    const failure = result as ApplicationFailure;
    expect(failure.type).toBe(SeriesEndedType);
    expect((failure.details?.[0] as SeriesEnded).reason).toBe('exhausted');
    expect((failure.details?.[0] as SeriesEnded).failure.error_class).toBe('outcome_unknown');
  });
});
