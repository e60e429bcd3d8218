import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ReleaseGate } from '../../activities/release-gate';
import { MARK_BEFORE_MS, MARK_SPREAD_MS, createSeriesActivity, type HandOff } from '../../activities/series';
import { DeliveryError } from '../../destinations/delivery-error';
import { DeliveryFailureType } from '../../domain/failures';
import type { TurnHandOff } from '../../domain/ordering';
import type { DeliveryRequest } from '../../domain/delivery';
import {
  SeriesEndedType,
  type SeriesEnded,
  type SeriesProgress,
  type SeriesRequest,
  type SeriesResult,
} from '../../domain/series';

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

describe('an armed delivery', () => {
  /** Runs an armed series due `leadMs` from now; records every heartbeat and, in order with them, the send. */
  async function runArmed(leadMs: number, carried?: SeriesProgress) {
    const log: (SeriesProgress | 'sent')[] = [];
    const series = createSeriesActivity(async () => {
      log.push('sent');
      return { status_code: 200, duration_ms: 1 } as never;
    }, new ReleaseGate());
    const env = new MockActivityEnvironment({
      attempt: carried ? 2 : 1,
      heartbeatDetails: carried,
      currentAttemptScheduledTimestampMs: Date.now(),
    });
    env.on('heartbeat', (details: unknown) => log.push(details as SeriesProgress));
    const releaseAtMs = Date.now() + leadMs;
    const result: SeriesResult = await env.run(series, { ...request(3), release_at_ms: releaseAtMs });
    return { result, log, releaseAtMs };
  }

  it('is marked in flight shortly before its instant, and its send makes no heartbeat of its own', async () => {
    const leadMs = MARK_BEFORE_MS + MARK_SPREAD_MS + 500;
    const { result, log, releaseAtMs } = await runArmed(leadMs);
    expect(result.receipt.status_code).toBe(200);
    const sentAt = log.indexOf('sent');
    expect(sentAt).toBeGreaterThan(0);
    const beforeSend = log.slice(0, sentAt) as SeriesProgress[];
    // The last word before the send is the mark: armed, due at the instant, not yet counted.
    expect(beforeSend.at(-1)).toMatchObject({
      sends_at: new Date(releaseAtMs).toISOString(),
      armed_until: new Date(releaseAtMs).toISOString(),
      attempt: 0,
      in_flight: false,
    });
    expect(beforeSend.some((p) => p.in_flight)).toBe(false);
    expect(result.progress.attempt).toBe(1);
  });

  it('a lead shorter than the mark window is marked at once', async () => {
    const { log } = await runArmed(300);
    expect((log[0] as SeriesProgress).sends_at).toBeDefined();
    expect(log.filter((e) => e === 'sent')).toHaveLength(1);
  });

  it('counts the attempt as outcome unknown when its worker died after the mark', async () => {
    const due = new Date(Date.now() - 1000).toISOString();
    const marked: SeriesProgress = { ...afterFailure(0, 1, false), armed_until: due, sends_at: due };
    const { result, sent } = await runAs(2, marked);
    expect(sent).toEqual([2]);
    const progress = (result as { progress: SeriesProgress }).progress;
    expect(progress.attempts.map((a) => [a.number, a.error_class, a.started_at])).toEqual([
      [1, 'outcome_unknown', due],
      [2, undefined, expect.any(String)],
    ]);
    expect(progress.sends_at).toBeUndefined();
  });
});

describe('the hand-off of an ordered task whose delivery succeeds (behaviour SeriesHandOff)', () => {
  const handOffReq: TurnHandOff = {
    ordering_key: 'k',
    task_id: 'task-1',
    end: 'succeeded',
    next: 'task-2',
    then: ['task-3'],
    ended: ['task-0'],
  };
  const run = async (opts: { fail?: boolean; handOff: HandOff; ask?: boolean }) => {
    const series = createSeriesActivity(
      async () => {
        if (opts.fail)
          throw new DeliveryError(DeliveryFailureType.Permanent, 'HTTP 400', {
            error_class: 'http_400',
            duration_ms: 1,
          });
        return { status_code: 200, duration_ms: 1 } as never;
      },
      undefined,
      opts.handOff,
    );
    const env = new MockActivityEnvironment({ attempt: 1, currentAttemptScheduledTimestampMs: Date.now() });
    const req = { ...request(3), ...(opts.ask === false ? {} : { hand_off: handOffReq }) };
    return env.run(series, req).catch((err: unknown) => err);
  };

  it('hands the turn on after the successful send and says so in its result', async () => {
    const asked: TurnHandOff[] = [];
    const result = (await run({
      handOff: async (req) => {
        asked.push(req);
        return { key_reached: true, handed_to: req.next };
      },
    })) as SeriesResult;
    expect(asked).toEqual([handOffReq]);
    expect(result.receipt.status_code).toBe(200);
    expect(result.handed_off).toEqual({ key_reached: true, handed_to: 'task-2' });
  });

  it('reports the delivery without the hand-off when the hand-off fails (the workflow then hands on itself)', async () => {
    const result = (await run({
      handOff: async () => {
        throw new Error('14 UNAVAILABLE');
      },
    })) as SeriesResult;
    expect(result.receipt.status_code).toBe(200);
    expect(result.handed_off).toBeUndefined();
  });

  it('reports the delivery without the hand-off when the hand-off takes longer than 2 s', async () => {
    // A hand-off that never answers: without the bound the series never reports (the test times out).
    const result = (await run({ handOff: () => new Promise(() => undefined) })) as SeriesResult;
    expect(result.receipt.status_code).toBe(200);
    expect(result.handed_off).toBeUndefined();
  });

  it('hands nothing on when the delivery fails, or when the request does not ask for it', async () => {
    let calls = 0;
    const handOff: HandOff = async () => {
      calls++;
      return { key_reached: true };
    };
    const failed = await run({ fail: true, handOff });
    expect(failed).toBeInstanceOf(ApplicationFailure);
    const plain = (await run({ handOff, ask: false })) as SeriesResult;
    expect(plain.handed_off).toBeUndefined();
    expect(calls).toBe(0);
  });
});
