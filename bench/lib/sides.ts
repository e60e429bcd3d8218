import { planBatch } from '../../client/key-enqueuer';
import { enqueuerOf } from '../../client/ordering';
import { startTask } from '../../client/tasks';
import type { OurService } from './service';
import type { Task } from '../../domain/task';
import type { NaiveRetryInput } from '../baseline/workflows';
// A type import: this module stays free of Redis and BullMQ at run time.
import type { PeerTask } from '../peer/bullmq';
import type { CpuPerUnit } from './cpu';
import type { BenchEnv } from './env';
import { runPool, waitAllClosed } from './engine';
import { progress } from './progress';
import { summarize, type Summary } from './stats';
import { CountWaiters } from './count-waiters';

/** Something that sees deliveries arrive: a {@link BenchReceiver}, a {@link KafkaSink}, an {@link ArrivalLog}. */
export interface ArrivalSource {
  waitFor(n: number, timeoutMs: number): Promise<void>;
  /** First arrival per id; `at` in epoch milliseconds. */
  arrivals(): { id: string; at: number }[];
}

/** Arrivals recorded in process (the comparison activities call {@link ArrivalLog.record}). */
export class ArrivalLog implements ArrivalSource {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new CountWaiters(
    () => this.seen.size,
    (have, n, ms) => `${have}/${n} arrivals within ${ms} ms`,
  );

  constructor(private readonly onArrival?: (id: string) => void) {}

  /** Records the first arrival of `id` now. */
  record(id: string): void {
    if (this.seen.has(id)) return;
    this.seen.set(id, Date.now());
    this.onArrival?.(id);
    this.waiters.notify();
  }

  waitFor(n: number, timeoutMs: number): Promise<void> {
    return this.waiters.waitFor(n, timeoutMs);
  }

  arrivals(): { id: string; at: number }[] {
    return [...this.seen].map(([id, at]) => ({ id, at }));
  }
}

/** What one side of a comparison achieved. */
export interface SideResult {
  label: string;
  n: number;
  /** Deliveries per second: n / (last arrival − first submit). */
  perSecond: number;
  /** Submit → arrival, milliseconds. */
  latencyMs: Summary;
  /** Workflows closed per second: n / (all closed − first submit); when waited for. */
  closedPerSecond?: number;
  /** First submit → last arrival, milliseconds. */
  elapsedMs: number;
  /** Median history length of a sample of the side's workflows, events (engine sides only). */
  eventsPerTask?: number;
  /** Shortest and longest history in that sample, events (longer ones: e.g. workflow task timeouts under load). */
  eventsRange?: [number, number];
  /**
   * CPU per task, milliseconds: `self` = this process (our worker or the baseline worker, the client, the receiver),
   * `server` = the local Temporal server process, `other` = every other process on the machine.
   */
  cpuMsPerTask?: CpuPerUnit;
}

/** Turns submit times and arrivals into a {@link SideResult}. */
export function sideResult(
  label: string,
  submitted: ReadonlyMap<string, number>,
  arrivals: readonly { id: string; at: number }[],
  closedAt?: number,
): SideResult {
  const firstSubmit = Math.min(...submitted.values());
  const ours = arrivals.filter((a) => submitted.has(a.id));
  const lastArrival = Math.max(...ours.map((a) => a.at));
  const elapsedMs = Math.max(lastArrival - firstSubmit, 1);
  return {
    label,
    n: ours.length,
    perSecond: ours.length / (elapsedMs / 1000),
    latencyMs: summarize(ours.map((a) => a.at - submitted.get(a.id)!)),
    ...(closedAt !== undefined ? { closedPerSecond: ours.length / (Math.max(closedAt - firstSubmit, 1) / 1000) } : {}),
    elapsedMs,
  };
}

/** How long to wait for n deliveries: generous, so a slow machine reports numbers instead of timing out. */
export function deliveryTimeoutMs(n: number, minimumSeconds = 0): number {
  return 300_000 + n * 200 + minimumSeconds * 1000;
}

/**
 * Waits for `n` arrivals at `sink`, failing at once (instead of at the timeout) when the worker that should
 * deliver them stops: `workerDone` is its run() promise.
 */
export async function waitDelivered(
  sink: ArrivalSource,
  n: number,
  timeoutMs: number,
  workerDone?: Promise<void>,
): Promise<void> {
  if (!workerDone) return sink.waitFor(n, timeoutMs);
  const stopped = workerDone.then(
    () => {
      throw new Error(`the worker stopped before ${n} deliveries arrived`);
    },
    (err: unknown) => {
      throw new Error(`the worker failed before ${n} deliveries arrived: ${String(err)}`, { cause: err });
    },
  );
  await Promise.race([sink.waitFor(n, timeoutMs), stopped]);
}

/** How a side waits: its label, starts in flight, and whether to wait for the workflows to close as well. */
export interface StartOptions {
  label: string;
  concurrency: number;
  waitClosed?: boolean;
  minimumSeconds?: number;
  workerDone?: Promise<void>;
  /**
   * Start the tasks as POST /tasks/batch starts one batch of them all: each ordered task takes its place in its key's
   * enqueue order first, in item order; then the tasks of a key are started next to each other
   * (client/key-enqueuer.ts `planBatch`), so that their enqueues meet.
   */
  asBatch?: boolean;
}

/**
 * Runs `start(i)` for i < n (`concurrency` in flight, timestamping each submission under `idOf(i)`), waits until
 * `sink` saw every one arrive and, with `waitClosed`, until the workflows on the task queue closed.
 */
async function runStarts(
  env: BenchEnv,
  taskQueue: string,
  n: number,
  idOf: (i: number) => string,
  start: (i: number) => Promise<unknown>,
  sink: ArrivalSource,
  opts: StartOptions,
): Promise<SideResult> {
  const submitted = new Map<string, number>();
  await runPool(n, opts.concurrency, async (i) => {
    submitted.set(idOf(i), Date.now());
    await start(i);
  });
  const timeoutMs = deliveryTimeoutMs(n, opts.minimumSeconds);
  await waitDelivered(sink, n, timeoutMs, opts.workerDone);
  const closedAt = opts.waitClosed ? await waitAllClosed(env.client, taskQueue, timeoutMs) : undefined;
  return sideResult(opts.label, submitted, sink.arrivals(), closedAt);
}

/** Submits `tasks` to our service through the Temporal client (client/tasks.ts `startTask`); see {@link runStarts}. */
export function runOurTasks(
  env: BenchEnv,
  ours: Pick<OurService, 'taskQueue' | 'releaseLeadMs'>,
  tasks: readonly Task[],
  sink: ArrivalSource,
  opts: StartOptions,
): Promise<SideResult> {
  const { order, places } = opts.asBatch
    ? planBatch(
        enqueuerOf(env.client, ours.taskQueue),
        tasks.map((t) => t.ordering_key),
      )
    : { order: tasks.map((_, i) => i), places: [] };
  const start = (j: number) => {
    const i = order[j]!;
    const options = { releaseLeadMs: ours.releaseLeadMs, enqueueSlot: places[i] };
    return startTask(env.client, ours.taskQueue, tasks[i]!, options).finally(() => places[i]?.giveUp());
  };
  return runStarts(env, ours.taskQueue, tasks.length, (j) => tasks[order[j]!]!.id, start, sink, opts);
}

/** Starts `rawEngine(id)` for each id; see {@link runStarts}. */
export function runRawEngine(
  env: BenchEnv,
  taskQueue: string,
  ids: readonly string[],
  sink: ArrivalSource,
  opts: Omit<StartOptions, 'minimumSeconds'>,
): Promise<SideResult> {
  const start = (i: number) =>
    env.client.workflow.start('rawEngine', { taskQueue, workflowId: ids[i]!, args: [ids[i]!] });
  return runStarts(env, taskQueue, ids.length, (i) => ids[i]!, start, sink, opts);
}

/** Starts `naiveRetry(input)` for each input; see {@link runStarts}. */
export function runNaive(
  env: BenchEnv,
  taskQueue: string,
  inputs: readonly NaiveRetryInput[],
  sink: ArrivalSource,
  opts: StartOptions,
): Promise<SideResult> {
  const start = (i: number) =>
    env.client.workflow.start('naiveRetry', { taskQueue, workflowId: inputs[i]!.id, args: [inputs[i]!] });
  return runStarts(env, taskQueue, inputs.length, (i) => inputs[i]!.id, start, sink, opts);
}

/** Submits to the peer in chunks of `chunk` (timestamping each chunk) and waits for every arrival at `sink`. */
export async function runPeerTasks(
  peer: { submit(tasks: PeerTask[]): Promise<void> },
  tasks: readonly PeerTask[],
  sink: ArrivalSource,
  opts: { label: string; chunk?: number; minimumSeconds?: number },
): Promise<SideResult> {
  const submitted = new Map<string, number>();
  const chunk = opts.chunk ?? 500;
  for (let i = 0; i < tasks.length; i += chunk) {
    const part = tasks.slice(i, i + chunk);
    const now = Date.now();
    for (const t of part) submitted.set(t.id, now);
    await peer.submit(part);
  }
  await sink.waitFor(tasks.length, deliveryTimeoutMs(tasks.length, opts.minimumSeconds));
  return sideResult(opts.label, submitted, sink.arrivals());
}

/** A progress bar whose tick fits the `onDelivered` / `onArrival` callbacks. */
export function deliveryProgress(label: string, total: number) {
  const bar = progress(label, total);
  return { tick: () => bar.tick(), stop: () => bar.stop() };
}
