import { Context } from '@temporalio/activity';

/** How often an in-flight delivery heartbeats, milliseconds (the workflow's heartbeatTimeout is larger). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** Heartbeat details per running activity (an attempt series keeps its progress there). */
const detailsOf = new WeakMap<Context, unknown>();

/**
 * Heartbeats `details` now and makes them the details of every later heartbeat of this activity, so the periodic
 * in-flight heartbeats never overwrite them (Temporal keeps only the last heartbeat's details).
 */
export function heartbeatWith(details: unknown): void {
  const ctx = Context.current();
  detailsOf.set(ctx, details);
  ctx.heartbeat(details);
}

/**
 * Runs `fn` while heartbeating every {@link HEARTBEAT_INTERVAL_MS}, handing it the activity's cancellation signal
 * so a workflow cancel aborts the request. When cancelled, throws the SDK's `CancelledFailure` (the signal's
 * reason) whatever `fn` threw, so Temporal records the activity as cancelled. The first beat comes after one
 * interval: an attempt series has just heartbeated its in-flight mark, and a burst of sends should not wait behind
 * a heartbeat each (activities/series.ts).
 */
export async function whileInFlight<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  const beat = () => ctx.heartbeat(detailsOf.get(ctx));
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await fn(signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    clearInterval(timer);
  }
}
