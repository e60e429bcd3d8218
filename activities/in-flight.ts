import { Context } from '@temporalio/activity';

/** How often an in-flight delivery heartbeats, milliseconds (the workflow's heartbeatTimeout is larger). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * Runs `fn` while heartbeating every {@link HEARTBEAT_INTERVAL_MS}, handing it the activity's cancellation signal
 * so a workflow cancel aborts the request. When cancelled, throws the SDK's `CancelledFailure` (the signal's
 * reason) whatever `fn` threw, so Temporal records the activity as cancelled.
 */
export async function whileInFlight<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    return await fn(signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    clearInterval(timer);
  }
}
