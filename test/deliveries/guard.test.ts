import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryDeps } from '../../activities';
import { DeliveryFailureType } from '../../domain/failures';
import { CircuitStatus, DestinationGuards } from '../../destinations/guard';
import { httpDestinationKey } from '../../destinations/http/key';
import { HttpReceiver } from '../support/http-receiver';
import { failureOf, request, runActivity, testDeps } from './helpers';

let receiver: HttpReceiver;
let other: HttpReceiver;
beforeAll(async () => {
  [receiver, other] = await Promise.all([HttpReceiver.start(), HttpReceiver.start()]);
});
afterAll(async () => {
  await Promise.all([receiver.stop(), other.stop()]);
});

/** Deps whose guard opens after 3 retryable failures and probes after 800 ms. */
function guarded(opts: Partial<ConstructorParameters<typeof DestinationGuards>[0]> = {}) {
  const transitions: CircuitStatus[] = [];
  const guards = new DestinationGuards({
    consecutiveFailures: 3,
    halfOpenAfterMs: 800,
    maxConcurrency: 20,
    onStateChange: (_, s) => transitions.push(s),
    ...opts,
  });
  return { deps: testDeps({}, { guards }), guards, transitions };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('per-destination circuit breaker', () => {
  let deps: DeliveryDeps;
  afterAll(() => deps?.close());

  it('when a destination fails 3 times in a row then it opens, defers deliveries without sending, and a successful half-open probe closes it', async () => {
    const g = guarded();
    deps = g.deps;
    const url = receiver.route('/down', { mode: 'status', status: 503 });
    let beforeOpen = 0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      beforeOpen = Date.now();
      const f = await failureOf(runActivity(deps, 'deliverHttp', request({ url }, { attempt })));
      expect(f.type).toBe(DeliveryFailureType.Retryable);
    }
    // The circuit opened during the third delivery: between these two instants, however busy the machine.
    const openedAt = Date.now();
    const deferredF = await failureOf(runActivity(deps, 'deliverHttp', request({ url }, { attempt: 4 })));
    expect(deferredF.type).toBe(DeliveryFailureType.CircuitOpen);
    expect(deferredF.nonRetryable).toBe(false);
    expect(deferredF.details.error_class).toBe('circuit_open');
    expect(deferredF.message).toMatch(/^destination circuit open until /);
    const until = Date.parse(deferredF.details.circuit_open_until!);
    expect(until).toBeGreaterThanOrEqual(beforeOpen + 800);
    expect(until).toBeLessThanOrEqual(openedAt + 800);
    expect(receiver.requests('/down')).toHaveLength(3);
    expect(g.guards.status(httpDestinationKey(url)).status).toBe(CircuitStatus.Open);

    // The receiver recovers; the first delivery after the half-open time is the probe, and it closes the circuit.
    receiver.route('/down', { mode: 'succeed' });
    await sleep(until - Date.now() + 20);
    const probe = await runActivity(deps, 'deliverHttp', request({ url }, { attempt: 4 }));
    expect(probe.status_code).toBe(200);
    expect(g.guards.status(httpDestinationKey(url)).status).toBe(CircuitStatus.Closed);
    await runActivity(deps, 'deliverHttp', request({ url }));
    expect(receiver.requests('/down')).toHaveLength(2);
    expect(g.transitions).toEqual([CircuitStatus.Open, CircuitStatus.HalfOpen, CircuitStatus.Closed]);
  });

  it('when the half-open probe fails then the circuit opens again for another period', async () => {
    const g = guarded({ consecutiveFailures: 1, halfOpenAfterMs: 300 });
    try {
      const url = receiver.route('/still-down', { mode: 'status', status: 500 });
      await failureOf(runActivity(g.deps, 'deliverHttp', request({ url })));
      const deferred = await failureOf(runActivity(g.deps, 'deliverHttp', request({ url })));
      expect(deferred.type).toBe(DeliveryFailureType.CircuitOpen);
      await sleep(Date.parse(deferred.details.circuit_open_until!) - Date.now() + 20);
      const beforeProbe = Date.now();
      const probe = await failureOf(runActivity(g.deps, 'deliverHttp', request({ url })));
      const afterProbe = Date.now();
      expect(probe.type).toBe(DeliveryFailureType.Retryable);
      // The failed probe opened the circuit again, for a whole new period counted from its failure (read from the
      // guard itself: no time-dependent call in between, however busy the machine).
      expect(g.transitions).toEqual([CircuitStatus.Open, CircuitStatus.HalfOpen, CircuitStatus.Open]);
      const until = g.guards.status(httpDestinationKey(url)).openUntil!.getTime();
      expect(until).toBeGreaterThanOrEqual(beforeProbe + 300);
      expect(until).toBeLessThanOrEqual(afterProbe + 300);
      expect(receiver.requests('/still-down')).toHaveLength(2);
    } finally {
      await g.deps.close();
    }
  });

  it('when a destination keeps answering 4xx then its circuit stays closed (the receiver is up)', async () => {
    const g = guarded({ consecutiveFailures: 2 });
    try {
      const url = receiver.route('/bad-request', { mode: 'status', status: 400 });
      for (let i = 0; i < 5; i++) {
        expect((await failureOf(runActivity(g.deps, 'deliverHttp', request({ url })))).type).toBe(
          'DestinationRejected',
        );
      }
      expect(receiver.requests('/bad-request')).toHaveLength(5);
      expect(g.transitions).toEqual([]);
    } finally {
      await g.deps.close();
    }
  });

  it('when one destination is open then another destination still receives deliveries', async () => {
    const g = guarded({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 });
    try {
      const down = receiver.route('/iso-down', { mode: 'status', status: 503 });
      const up = other.route('/iso-up', { mode: 'succeed' });
      await failureOf(runActivity(g.deps, 'deliverHttp', request({ url: down })));
      expect((await failureOf(runActivity(g.deps, 'deliverHttp', request({ url: down })))).type).toBe('CircuitOpen');
      expect((await runActivity(g.deps, 'deliverHttp', request({ url: up }))).status_code).toBe(200);
    } finally {
      await g.deps.close();
    }
  });
});

describe('per-destination concurrency cap', () => {
  it('when more deliveries than the cap run at once then the receiver never sees more than the cap in flight', async () => {
    const g = guarded({ maxConcurrency: 2, consecutiveFailures: 100 });
    try {
      const url = receiver.route('/slow', { mode: 'hang' });
      const started = Date.now();
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map(() => runActivity(g.deps, 'deliverHttp', request({ url }, { timeout_ms: 500 }))),
      );
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      const arrivals = receiver
        .requests('/slow')
        .map((r) => r.at - started)
        .sort((a, b) => a - b);
      expect(arrivals).toHaveLength(4);
      // The third and fourth go out only after one of the first two gave up (its 500 ms timeout), however busy the
      // machine: never more than the cap in flight.
      expect(arrivals[2]).toBeGreaterThanOrEqual(500);
      expect(arrivals[3]).toBeGreaterThanOrEqual(500);
    } finally {
      await g.deps.close();
    }
  });

  it('when no slot frees up within the wait then the delivery is deferred as destination_busy and nothing is sent', async () => {
    const g = guarded({ maxConcurrency: 1, maxSlotWaitMs: 150, consecutiveFailures: 100 });
    try {
      const url = receiver.route('/busy', { mode: 'hang' });
      const first = runActivity(g.deps, 'deliverHttp', request({ url }, { timeout_ms: 1_000 }));
      await sleep(50);
      const second = await failureOf(runActivity(g.deps, 'deliverHttp', request({ url })));
      expect(second.type).toBe(DeliveryFailureType.CircuitOpen);
      expect(second.details.error_class).toBe('destination_busy');
      expect(second.details.circuit_open_until).toEqual(expect.any(String));
      await failureOf(first);
      expect(receiver.requests('/busy')).toHaveLength(1);
    } finally {
      await g.deps.close();
    }
  });
});
