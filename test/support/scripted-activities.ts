import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { atActivityBoundary, type Activities } from '../../activities';
import { createReadSeriesProgress, createSeriesActivity, type HandOff } from '../../activities/series';
import { createLifecycleReporters } from '../../activities/lifecycle-events';
import { describeDestination } from '../../domain/destination';
import type { DeliveryReceipt, DeliveryRequest } from '../../domain/delivery';
import { DeliveryFailureType } from '../../domain/failures';
import { DeliveryError } from '../../destinations/delivery-error';

/** What one scripted delivery does. */
export type Step =
  /**
   * Success; `afterMs` (real time) holds the report back, as a slow network would (an ack may overtake it), and
   * `heldUntil` until the test lets it go (an ack that must overtake it, however loaded the machine).
   */
  | { ok: true; status?: number; afterMs?: number; heldUntil?: Promise<unknown> }
  | { fail: 'retryable' | 'permanent'; status?: number; retryAfterMs?: number }
  | { circuitOpenForMs: number }
  /** Heartbeats until cancelled (to prove a cancel reaches an in-flight delivery). */
  | { hang: true }
  /** Never reports and stops heartbeating: the server times the attempt out (a lost worker looks like this). */
  | { stall: true };

export interface Call {
  req: DeliveryRequest;
  /** Server time when this attempt was scheduled (time-skipping clock), ms. */
  scheduledAtMs: number;
  /** The server's clock when the attempt ran, when a `serverClock` was given (proves who held the waits), ms. */
  serverTimeMs?: number;
  cancelled?: boolean;
}

/**
 * Replacement activities for workflow tests under the time-skipping server: each task id gets a script of steps
 * for its primary deliveries and for its dead-letter deliveries; the last step repeats. Every call is recorded.
 * They fail exactly as the real activities do: a classified DeliveryError inside the series, an ApplicationFailure
 * (domain/failures.ts) from the single-attempt activities.
 */
export function scriptedActivities(
  scripts: Record<string, { primary?: Step[]; deadLetter?: Step[] }>,
  serverClock?: () => Promise<number>,
  handOff?: HandOff,
) {
  const calls: Call[] = [];
  const run = async (req: DeliveryRequest): Promise<DeliveryReceipt> => {
    const script = scripts[req.task_id] ?? {};
    const steps = (req.kind === 'primary' ? script.primary : script.deadLetter) ?? [{ ok: true }];
    const index = calls.filter((c) => c.req.task_id === req.task_id && c.req.kind === req.kind).length;
    const step = steps[Math.min(index, steps.length - 1)]!;
    const call: Call = { req, scheduledAtMs: Context.current().info.currentAttemptScheduledTimestampMs };
    calls.push(call);
    if (serverClock) call.serverTimeMs = await serverClock();
    if ('hang' in step) {
      try {
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(100);
        }
      } catch (err) {
        if (err instanceof CancelledFailure) call.cancelled = true;
        throw err;
      }
    }
    if ('stall' in step) {
      // Silent until the worker shuts down (cancellation); the server has long timed the attempt out by then.
      await Context.current().sleep(24 * 3600_000);
      throw new Error('stalled attempt outlived its day');
    }
    if ('ok' in step) {
      if (step.afterMs) await Context.current().sleep(step.afterMs);
      if (step.heldUntil) await step.heldUntil;
      return { duration_ms: 1, status_code: step.status ?? 200 };
    }
    if ('circuitOpenForMs' in step) {
      throw new DeliveryError(DeliveryFailureType.CircuitOpen, 'circuit open', {
        error_class: 'circuit_open',
        duration_ms: 0,
        circuit_open_until: new Date(call.scheduledAtMs + step.circuitOpenForMs).toISOString(),
      });
    }
    const type = step.fail === 'permanent' ? DeliveryFailureType.Permanent : DeliveryFailureType.Retryable;
    throw new DeliveryError(type, step.status ? `HTTP ${step.status}` : 'connection refused', {
      error_class: step.status ? `http_${step.status}` : 'ECONNREFUSED',
      duration_ms: 1,
      status_code: step.status,
      retry_after_ms: step.retryAfterMs,
    });
  };
  // The series around the scripted attempts is the production one: only the single attempt is scripted.
  const activities: Activities = {
    deliverHttp: atActivityBoundary(run),
    deliverKafka: atActivityBoundary(run),
    deliverSeries: createSeriesActivity(run, undefined, handOff),
    readSeriesProgress: createReadSeriesProgress(),
    // Notifications off: the reporting local activities return at once.
    ...createLifecycleReporters(undefined, describeDestination),
  };
  return { activities, calls };
}
