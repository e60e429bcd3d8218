import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { eventMs } from '../../testkit/history';

/**
 * Runs `fn(0)` … `fn(count − 1)` with at most `concurrency` calls in flight (lanes pull the next index).
 * Rejects with the first error, after the lanes stop.
 */
export async function runPool(count: number, concurrency: number, fn: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
      while (failed === undefined && next < count) {
        const i = next++;
        try {
          await fn(i);
        } catch (err) {
          failed ??= err;
        }
      }
    }),
  );
  if (failed !== undefined) throw failed;
}

/**
 * Runs `fn` in `concurrency` lanes, each calling it again and again until `durationMs` milliseconds have passed.
 * @returns the calls that completed and the wall time they took, milliseconds (from start to the last completion)
 */
export async function runFor(
  durationMs: number,
  concurrency: number,
  fn: (lane: number, call: number) => Promise<void>,
): Promise<{ calls: number; elapsedMs: number }> {
  const started = performance.now();
  const deadline = started + durationMs;
  let calls = 0;
  let last = started;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (performance.now() < deadline) {
        await fn(lane, calls);
        calls++;
        last = performance.now();
      }
    }),
  );
  return { calls, elapsedMs: last - started };
}

/** Workflows on `taskQueue` still running, per visibility (eventually consistent). */
export async function countRunning(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`);
  return count;
}

/**
 * Polls visibility every `intervalMs` until no workflow of `taskQueue` runs.
 * @returns when that was first seen, epoch milliseconds
 * @throws after `timeoutMs` milliseconds, with the count still running
 */
export async function waitAllClosed(client: Client, taskQueue: string, timeoutMs: number, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = await countRunning(client, taskQueue);
    if (running === 0) return Date.now();
    if (Date.now() > deadline)
      throw new Error(`${running} workflows on ${taskQueue} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** History length (events) of each workflow id's latest run, read `concurrency` at a time. */
export async function historyLengths(client: Client, ids: readonly string[], concurrency = 8): Promise<number[]> {
  const lengths = new Array<number>(ids.length);
  await runPool(ids.length, concurrency, async (i) => {
    const history = await client.workflow.getHandle(ids[i]!).fetchHistory();
    lengths[i] = designEvents(history.events ?? []);
  });
  return lengths;
}

/** What {@link designEvents} reads of a history event (a `temporal.api.history.v1.IHistoryEvent`). */
interface HistoryEventShape {
  workflowTaskTimedOutEventAttributes?: { startedEventId?: unknown } | null;
  workflowTaskFailedEventAttributes?: { startedEventId?: unknown } | null;
}

/**
 * Events a history holds by the workflow's design: a workflow task that timed out or failed (a worker too busy to
 * answer in time, which a loaded machine causes) is not counted, nor the scheduled and started events of that try;
 * the retried workflow task that replaced it is.
 */
export function designEvents(events: readonly HistoryEventShape[]): number {
  let extra = 0;
  for (const e of events) {
    const lost = e.workflowTaskTimedOutEventAttributes ?? e.workflowTaskFailedEventAttributes;
    if (lost) extra += 2 + (Number(lost.startedEventId ?? 0) > 0 ? 1 : 0);
  }
  return events.length - extra;
}

/**
 * Terminates every workflow still running on `taskQueue` (for servers the benchmark does not throw away).
 * @returns how many were terminated
 */
export async function terminateRunning(client: Client, taskQueue: string, concurrency = 16): Promise<number> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({
    query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`,
  })) {
    ids.push(wf.workflowId);
  }
  await runPool(ids.length, concurrency, async (i) => {
    await client.workflow
      .getHandle(ids[i]!)
      .terminate('benchmark cleanup')
      .catch(() => undefined);
  });
  return ids.length;
}

/** Up to `max` items of `items`, evenly spread (first and last included). */
export function sampleEvenly<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

/** One line of {@link historyTimeline}: an event type and when it happened, ms relative to a reference instant. */
export interface TimelineEvent {
  event: string;
  atMs: number;
  /** Activity type, timer id or failure message, when the event has one. */
  note?: string;
}

/**
 * The history of workflow `id` as a compact timeline relative to `refMs` (e.g. the task's due time): what a late
 * task waited for (a workflow task timeout, a late activity start, a retry) reads off it directly.
 */
export async function historyTimeline(client: Client, id: string, refMs: number): Promise<TimelineEvent[]> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).map((e) => {
    const atMs = Math.round(eventMs(e.eventTime) - refMs);
    const note =
      e.activityTaskScheduledEventAttributes?.activityType?.name ??
      e.activityTaskFailedEventAttributes?.failure?.message ??
      e.activityTaskTimedOutEventAttributes?.failure?.message ??
      e.workflowTaskFailedEventAttributes?.failure?.message ??
      e.timerStartedEventAttributes?.timerId ??
      undefined;
    const type = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
    return { event: type.replace(/^EVENT_TYPE_/, ''), atMs, ...(note ? { note } : {}) };
  });
}
