// Scenario "timer": timer fidelity. N tasks due at one instant T (or spread evenly over a window after T), submitted
// well before T; lateness = arrival at the receiver − the task's own due time. Three sides in the same run, one after
// the other, on the same Temporal server and machine:
//   ours     — client/tasks.ts startTask with deliver_at, our worker (in process) delivering over HTTP;
//   baseline — the raw engine: sleepThenNoop (a durable timer, then a no-op activity that timestamps its start);
//   peer     — BullMQ on Redis: a delayed job (delay = due − now at submit) whose worker POSTs to the receiver.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { startTask } from '../../client/tasks';
import { TaskInput } from '../../domain/task';
import { createLogger } from '../../platform/logger';
import { createWorker, type WorkerActivities } from '../../worker/worker';
import { createBaselineActivities, type BaselineRecorder } from '../baseline/activities';
import type { sleepThenNoop } from '../baseline/timer-workflows';
import { configArgs, numberArg, stringArg, type Scenario } from '../lib/cli';
import { historyTimeline, runPool, waitAllClosed, type TimelineEvent } from '../lib/engine';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { progress, type ProgressBar } from '../lib/progress';
import { BenchReceiver } from '../lib/receiver';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService, benchConfig, type OurService } from '../lib/service';
import { ArrivalLog } from '../lib/sides';
import { summarize, type Summary } from '../lib/stats';
import { startBullPeer, type BullPeer, type PeerTask } from '../peer/bullmq';
import { startRedis } from '../peer/redis';

/** Comma-separated positive integers after `name` (`--sizes 1000,10000`), else `fallback`. */
export function sizesArg(args: readonly string[], name: string, fallback: number[]): number[] {
  const raw = stringArg(args, name);
  if (raw === undefined) return fallback;
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`${name} must be positive integers`);
  return sizes;
}

/** {@link runPool} with a progress tick per call. @returns elapsed milliseconds */
export async function timedPool(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>,
  bar?: ProgressBar,
): Promise<number> {
  const started = performance.now();
  await runPool(n, concurrency, async (i) => {
    await fn(i);
    bar?.tick();
  });
  return performance.now() - started;
}

/** Sleeps `ms` milliseconds. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let timerBundle: Promise<string> | undefined;
/** Bundle of bench/baseline/timer-workflows.ts, built once per process. */
export function timerWorkflowBundle(): Promise<string> {
  timerBundle ??= (async () => {
    const quiet = () => undefined;
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '..', 'baseline', 'timer-workflows.ts'),
      logger: { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error, log: quiet },
    });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-timer-bundle-')), 'timer-workflows.js');
    writeFileSync(file, code);
    return file;
  })();
  return timerBundle;
}

/**
 * The raw-engine worker for sleepThenNoop, in process: worker/worker.ts `createWorker` with the bench config (the
 * same worker options as ours), the timer bundle and the baseline activities.
 */
export async function startTimerBaselineWorker(
  env: BenchEnv,
  record: BaselineRecorder,
): Promise<{ taskQueue: string; stop(): Promise<void> }> {
  const taskQueue = `bench-timer-baseline-${randomUUID()}`;
  const config = benchConfig(env, taskQueue);
  const worker: Worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace,
    config,
    logger: createLogger(config.LOG_LEVEL, 'bench-timer-baseline'),
    // Same cast as bench/baseline/worker.ts: createWorker types `activities` as ours.
    activities: createBaselineActivities(record) as unknown as WorkerActivities,
    workflowBundlePath: await timerWorkflowBundle(),
    taskQueue,
  });
  const running = worker.run();
  running.catch((err: unknown) => console.error('bench: timer baseline worker stopped with an error', err));
  return {
    taskQueue,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** Builds our task `id` due at `dueMs` for `url`; its body carries the id and due time. */
export function ourTimedTask(id: string, url: string, due: { deliverAtMs?: number; delayTier?: string }) {
  return TaskInput.parse({
    id,
    source: 'bench',
    client_id: 'bench',
    destination_type: 'http',
    destination: { url },
    max_retries: 3,
    base_delay: 1,
    message_data: JSON.stringify({ bench_id: id, due: due.deliverAtMs }),
    ...(due.deliverAtMs !== undefined ? { deliver_at: new Date(due.deliverAtMs).toISOString() } : {}),
    ...(due.delayTier !== undefined ? { delay_tier: due.delayTier } : {}),
  });
}

/** Waits (at most a minute) until the side's workflows closed, so the next side starts on a quiet server. */
async function settle(env: BenchEnv, taskQueue: string): Promise<void> {
  await waitAllClosed(env.client, taskQueue, 60_000, 500).catch((err: unknown) =>
    console.error(`  ${(err as Error).message}`),
  );
}

/** One side of one case: where its tasks went and when each arrived. */
interface SideResult {
  lateness: Summary;
  /** Ours: how late the worker's release gate let the armed deliveries go (send begins), ms. */
  release?: Summary;
  /** Ours: the latest arrivals with their histories relative to the due time (what the tail waited for). */
  slowest?: { id: string; latenessMs: number; history: TimelineEvent[] }[];
  /** Tasks whose submission returned after their due time (their lateness includes submission). */
  submittedLate: number;
  /** Tasks that never arrived within the wait. */
  missing: number;
  /** Submissions per second of this side. */
  submitRate: number;
  submitMs: number;
  leadMs: number;
}

/** Plan of one case: n tasks, the first due `leadMs` after the submissions start, spread over `windowMs`. */
interface CasePlan {
  n: number;
  windowMs: number;
  /** Submissions per second assumed for the lead time (measured by the warm-up). */
  rate: number;
  /** Lead time given on the command line (--lead-s), milliseconds; else computed from the rate. */
  fixedLeadMs?: number;
}

/**
 * Lead time before T: 3 × the submission time at the measured rate, plus 5 s. The rate drops as the dev server's
 * SQLite grows and other work shares the machine (a 1.5× margin was not enough: the last third of a 1k case went in
 * after T); a task submitted after its due time is counted and reported, never hidden.
 */
function leadMs(plan: CasePlan): number {
  if (plan.fixedLeadMs) return plan.fixedLeadMs;
  return Math.ceil((plan.n / plan.rate) * 1000 * 3 + 5_000);
}

/** due_i = T + i · window / n (all at T when window = 0). */
function dueTimes(plan: CasePlan, t: number): number[] {
  return Array.from({ length: plan.n }, (_, i) => t + Math.floor((i * plan.windowMs) / plan.n));
}

/** Waits for `n` arrivals, until well past the last due time; a timeout is reported, the figures stay. */
async function awaitArrivals(
  wait: (n: number, timeoutMs: number) => Promise<void>,
  n: number,
  lastDue: number,
): Promise<void> {
  // Generous: a slow side must report its lateness, not a timeout (the dev server's SQLite can take minutes for 10k).
  const timeoutMs = Math.max(0, lastDue - Date.now()) + 120_000 + n * 150;
  try {
    await wait(n, timeoutMs);
  } catch (err) {
    console.error(`  ${(err as Error).message}`);
  }
}

function sideResult(
  dues: Map<string, number>,
  arrivals: { id: string; at: number }[],
  submitDone: Map<string, number>,
  submitMs: number,
  leadTime: number,
): SideResult {
  const late: number[] = [];
  for (const { id, at } of arrivals) {
    const due = dues.get(id);
    if (due !== undefined) late.push(at - due);
  }
  let submittedLate = 0;
  for (const [id, done] of submitDone) if (done > dues.get(id)!) submittedLate++;
  return {
    lateness: summarize(late),
    submittedLate,
    missing: dues.size - late.length,
    submitRate: dues.size / (submitMs / 1000),
    submitMs,
    leadMs: leadTime,
  };
}

/** Submission concurrency toward Temporal (workflow starts in flight). */
const START_CONCURRENCY = 64;

/** One side of a case: when each task is due, and when each submission returned (epoch ms, by task id). */
interface SidePlan {
  lead: number;
  dues: number[];
  prefix: string;
  dueById: Map<string, number>;
  submitDone: Map<string, number>;
}

function planSide(plan: CasePlan, side: string): SidePlan {
  const lead = leadMs(plan);
  return {
    lead,
    dues: dueTimes(plan, Date.now() + lead),
    prefix: `timer-${side}-${randomUUID().slice(0, 8)}`,
    dueById: new Map(),
    submitDone: new Map(),
  };
}

/** Starts one workflow per task ({@link START_CONCURRENCY} in flight), recording due and submit times; ms taken. */
async function startEach(
  side: SidePlan,
  label: string,
  start: (id: string, dueMs: number) => Promise<unknown>,
): Promise<number> {
  const submitted = progress(`${label} submitted`, side.dues.length);
  try {
    return await timedPool(
      side.dues.length,
      START_CONCURRENCY,
      async (i) => {
        const id = `${side.prefix}-${i}`;
        side.dueById.set(id, side.dues[i]!);
        await start(id, side.dues[i]!);
        side.submitDone.set(id, Date.now());
      },
      submitted,
    );
  } finally {
    submitted.stop();
  }
}

async function runOurs(env: BenchEnv, ours: OurService, plan: CasePlan, label: string): Promise<SideResult> {
  const received = progress(`${label} ours delivered`, plan.n);
  const receiver = await BenchReceiver.start({ onDelivered: () => received.tick() });
  try {
    const url = `${receiver.url}/hook`;
    const side = planSide(plan, 'ours');
    const submitMs = await startEach(side, `${label} ours`, (id, dueMs) =>
      startTask(env.client, ours.taskQueue, ourTimedTask(id, url, { deliverAtMs: dueMs }), {
        releaseLeadMs: ours.releaseLeadMs,
      }),
    );
    ours.releaseLateness.length = 0;
    await awaitArrivals((n, ms) => receiver.waitFor(n, ms), plan.n, side.dues[plan.n - 1]!);
    received.stop();
    const result: SideResult = {
      ...sideResult(side.dueById, receiver.arrivals(), side.submitDone, submitMs, side.lead),
      release: summarize(ours.releaseLateness.splice(0)),
      slowest: await slowestTimelines(env, side.dueById, receiver.arrivals(), 3),
    };
    await settle(env, ours.taskQueue);
    return result;
  } finally {
    received.stop();
    await receiver.stop();
  }
}

/** The `count` latest arrivals with their histories (times relative to the due time): the tail, explained. */
async function slowestTimelines(
  env: BenchEnv,
  dues: Map<string, number>,
  arrivals: { id: string; at: number }[],
  count: number,
): Promise<{ id: string; latenessMs: number; history: TimelineEvent[] }[]> {
  const late = arrivals
    .filter((a) => dues.has(a.id))
    .map((a) => ({ id: a.id, latenessMs: a.at - dues.get(a.id)! }))
    .sort((a, b) => b.latenessMs - a.latenessMs)
    .slice(0, count);
  return Promise.all(
    late.map(async (l) => ({ ...l, history: await historyTimeline(env.client, l.id, dues.get(l.id)!) })),
  );
}

/** The baseline worker's recorder writes here; one log per case. */
interface BaselineSink {
  log?: ArrivalLog;
}

async function runBaseline(
  env: BenchEnv,
  taskQueue: string,
  sink: BaselineSink,
  plan: CasePlan,
  label: string,
): Promise<SideResult> {
  const ran = progress(`${label} baseline ran`, plan.n);
  const log = new ArrivalLog(() => ran.tick());
  sink.log = log;
  try {
    const side = planSide(plan, 'base');
    const submitMs = await startEach(side, `${label} baseline`, (id, dueMs) =>
      env.client.workflow.start<typeof sleepThenNoop>('sleepThenNoop', {
        taskQueue,
        workflowId: id,
        args: [id, dueMs],
      }),
    );
    await awaitArrivals((n, ms) => log.waitFor(n, ms), plan.n, side.dues[plan.n - 1]!);
    ran.stop();
    const result = sideResult(side.dueById, log.arrivals(), side.submitDone, submitMs, side.lead);
    await settle(env, taskQueue);
    return result;
  } finally {
    ran.stop();
    sink.log = undefined;
  }
}

async function runPeer(redisUrl: string, concurrency: number, plan: CasePlan, label: string): Promise<SideResult> {
  const received = progress(`${label} peer delivered`, plan.n);
  const receiver = await BenchReceiver.start({ onDelivered: () => received.tick() });
  let peer: BullPeer | undefined;
  try {
    peer = await startBullPeer({ redisUrl, concurrency, queue: `timer-${randomUUID().slice(0, 8)}` });
    const url = `${receiver.url}/hook`;
    const { lead, dues, prefix, dueById, submitDone } = planSide(plan, 'peer');
    const submitted = progress(`${label} peer submitted`, plan.n);
    // As a user would: addBulk in chunks, delay computed from the due time at the moment of the add.
    const chunk = 500;
    const submitStart = performance.now();
    for (let i = 0; i < plan.n; i += chunk) {
      const now = Date.now();
      const batch: PeerTask[] = [];
      for (let j = i; j < Math.min(i + chunk, plan.n); j++) {
        const id = `${prefix}-${j}`;
        dueById.set(id, dues[j]!);
        batch.push({
          id,
          url,
          body: JSON.stringify({ bench_id: id, due: dues[j]! }),
          delayMs: dues[j]! - now,
          attempts: 4,
          backoff: { baseMs: 1_000, maxMs: 3_600_000 },
        });
      }
      await peer.submit(batch);
      const done = Date.now();
      for (const task of batch) submitDone.set(task.id, done);
      submitted.tick(batch.length);
    }
    const submitMs = performance.now() - submitStart;
    submitted.stop();
    await awaitArrivals((n, ms) => receiver.waitFor(n, ms), plan.n, dues[plan.n - 1]!);
    received.stop();
    return sideResult(dueById, receiver.arrivals(), submitDone, submitMs, lead);
  } finally {
    received.stop();
    await peer?.stop();
    await receiver.stop();
  }
}

/** Targets: release lateness p99 (the gate lets the delivery go) by burst size due at one instant, milliseconds. */
const RELEASE_P99_TARGET_MS: Record<number, number> = { 1_000: 10, 10_000: 100 };
/** Target: arrival lateness p99 at 1k spread over 10 s, milliseconds. */
const SPREAD_ARRIVAL_P99_TARGET_MS = 100;

/** The timer scenario for bench/scenarios/index.ts. */
export const timerScenario: Scenario = {
  describe:
    'timer fidelity: N tasks due at one instant, then spread over a window; lateness p50/p95/p99/max at the receiver ' +
    '(ours vs raw engine vs BullMQ). --sizes 1000,10000 --window-ms <ms per 1000 tasks> --peer-concurrency <n> (default: our DESTINATION_MAX_CONCURRENCY) ' +
    '--sides ours,baseline,peer --shapes same,spread --lead-s <s> (time from submission to T) --set KEY=VALUE (our config, for A/B runs)',
  async run({ quick, args }) {
    const sizes = sizesArg(args, '--sizes', quick ? [50] : [1_000, 10_000]);
    // Spread window: 5 s per 1000 tasks, at least 10 s (1k → 10 s, 10k → 50 s).
    const windowPer1000 = numberArg(args, '--window-ms', 5_000);
    const peerArg = numberArg(args, '--peer-concurrency', 0);
    // A loaded machine starts workflows slower than it submits them: a longer lead arms every delivery before T.
    const fixedLeadS = numberArg(args, '--lead-s', 0);
    const sides = new Set((stringArg(args, '--sides') ?? 'ours,baseline,peer').split(','));
    const shapes = (stringArg(args, '--shapes') ?? 'same,spread')
      .split(',')
      .map((s) => (s === 'same' ? 'same instant' : s === 'spread' ? 'spread' : undefined));
    if (shapes.some((s) => s === undefined)) throw new Error('--shapes takes same and/or spread');
    if (!sides.has('ours')) throw new Error('--sides must include ours');

    const env = await startBenchEnv();
    const redis = await startRedis();
    const sink: BaselineSink = {};
    const ours = await startOurService(env, { config: configArgs(args) });
    // BullMQ gets the concurrency one destination gets from us, unless told otherwise.
    const peerConcurrency = peerArg || ours.config.DESTINATION_MAX_CONCURRENCY;
    const baseline = await startTimerBaselineWorker(env, (id) => sink.log?.record(id));
    const rows: ResultRow[] = [];
    const details: Record<string, unknown> = {};
    try {
      // Warm-up, which also measures the start rate: 200 of our tasks due now (worker, pool and server warm).
      const warm = await BenchReceiver.start();
      const warmN = quick ? 20 : 200;
      const warmMs = await timedPool(warmN, START_CONCURRENCY, (i) =>
        startTask(env.client, ours.taskQueue, ourTimedTask(`timer-warm-${randomUUID()}-${i}`, `${warm.url}/hook`, {})),
      );
      await warm.waitFor(warmN, 60_000).catch(() => undefined);
      await warm.stop();
      let rate = warmN / (warmMs / 1000);
      console.error(`warm-up: ${warmN} starts at ${rate.toFixed(0)}/s`);

      for (const n of sizes) {
        for (const shape of shapes as ('same instant' | 'spread')[]) {
          const windowMs = shape === 'spread' ? Math.max(10_000, Math.round((n / 1000) * windowPer1000)) : 0;
          const label = `${n >= 1000 ? `${n / 1000}k` : n} ${shape === 'spread' ? `spread ${windowMs / 1000} s` : 'same instant'}`;
          const plan: CasePlan = { n, windowMs, rate, fixedLeadMs: fixedLeadS * 1000 };
          console.error(`\n== ${label}: lead ${(leadMs(plan) / 1000).toFixed(1)} s at ${rate.toFixed(0)} starts/s`);
          // A side left out (--sides) reports as nothing arrived (NaN figures), never as a pass.
          const skipped = sideResult(new Map(), [], new Map(), 1, 0);
          const o = await runOurs(env, ours, plan, label);
          const b = sides.has('baseline') ? await runBaseline(env, baseline.taskQueue, sink, plan, label) : skipped;
          const p = sides.has('peer')
            ? await runPeer(redis.url, peerConcurrency, { ...plan, rate: Math.max(rate, 1_000) }, label)
            : skipped;
          // Slower submissions than planned: plan the next case with the slowest rate seen.
          rate = Math.min(rate, ...[o, b].filter((r) => r.submitMs > 1).map((r) => r.submitRate));
          details[label] = { ours: o, baseline: b, peer: p };
          // The sides' figures for a row; a side left out has none.
          const figures = (of: (r: SideResult) => number) => ({
            ours: of(o),
            ...(sides.has('baseline') ? { baseline: of(b) } : {}),
            ...(sides.has('peer') ? { peer: of(p) } : {}),
          });
          for (const [key, metric] of [
            ['p50', 'arrival lateness p50'],
            ['p95', 'arrival lateness p95'],
            ['p99', 'arrival lateness p99'],
            ['max', 'arrival lateness max'],
          ] as const) {
            const row: ResultRow = {
              scenario: 'timer',
              case: label,
              metric,
              unit: 'ms',
              ...figures((r) => r.lateness[key]),
            };
            if (key === 'p99' && n === 1_000 && shape === 'same instant') {
              row.target = 'ours ≤ BullMQ';
              row.target_met = o.lateness.p99 <= p.lateness.p99;
            }
            if (key === 'p99' && n === 1_000 && shape === 'spread') {
              row.target = `ours ≤ ${SPREAD_ARRIVAL_P99_TARGET_MS} ms`;
              row.target_met = o.lateness.p99 <= SPREAD_ARRIVAL_P99_TARGET_MS;
            }
            rows.push(row);
          }
          for (const [key, metric] of [
            ['p50', 'release lateness p50'],
            ['p99', 'release lateness p99'],
            ['max', 'release lateness max'],
          ] as const) {
            const release = o.release?.[key];
            if (release === undefined || Number.isNaN(release)) continue;
            const row: ResultRow = { scenario: 'timer', case: label, metric, unit: 'ms', ours: release };
            const target = shape === 'same instant' ? RELEASE_P99_TARGET_MS[n] : undefined;
            if (key === 'p99' && target !== undefined) {
              row.target = `ours ≤ ${target} ms`;
              row.target_met = release <= target;
            }
            rows.push(row);
          }
          rows.push({
            scenario: 'timer',
            case: label,
            metric: 'submit rate',
            unit: 'tasks/s',
            ...figures((r) => r.submitRate),
          });
          if (o.missing + b.missing + p.missing > 0) {
            // Lateness above covers what arrived; say how much did not, rather than hide it.
            rows.push({
              scenario: 'timer',
              case: label,
              metric: 'not arrived in time',
              unit: 'tasks',
              ...figures((r) => r.missing),
            });
          }
          for (const [side, r] of Object.entries({ ours: o, baseline: b, peer: p })) {
            if (r.missing > 0 || r.submittedLate > 0) {
              console.error(`  ${side}: ${r.missing} never arrived, ${r.submittedLate} submitted after their due time`);
            }
          }
        }
      }
      saveResults('timer', rows, {
        sizes,
        quick,
        peer_concurrency: peerConcurrency,
        worker: { max_concurrent_activities: ours.config.WORKER_MAX_CONCURRENT_ACTIVITIES },
        destination_max_concurrency: ours.config.DESTINATION_MAX_CONCURRENCY,
        note: 'one run; sides in the order ours, baseline, peer per case; machine shared with other work',
        details,
      });
    } finally {
      await ours.stop();
      await baseline.stop();
      await redis.stop();
      await env.stop();
    }
  },
};
