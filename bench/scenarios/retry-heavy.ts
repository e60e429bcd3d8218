import { randomUUID } from 'node:crypto';
import { TaskInput, type Task } from '../../domain/task';
import { startBaselineWorker } from '../baseline/worker';
import type { NaiveRetryInput } from '../baseline/workflows';
import { startBullPeer } from '../peer/bullmq';
import { startRedis } from '../peer/redis';
import { configArgs, flag, numberArg, stringArg, type Scenario } from '../lib/cli';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { historyLengths, sampleEvenly, terminateRunning } from '../lib/engine';
import { BenchReceiver } from '../lib/receiver';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService } from '../lib/service';
import { ArrivalLog, deliveryProgress, runNaive, runOurTasks, runPeerTasks, type SideResult } from '../lib/sides';
import { median } from '../lib/stats';
import type { Measurement } from './first-try';

/** Ours may spend at most this fraction of the naive loop's history events per retry cycle (issue 8). */
export const EVENTS_PER_CYCLE_TARGET = 0.5;

/** Options of {@link measureRetryHeavy}. */
export interface RetryHeavyOptions {
  /** Tasks per side per k. */
  n: number;
  /** Failures before success to measure; k = 0 is always measured too (the reference for events per cycle). */
  ks?: number[];
  /** base_delay, seconds: the wait before attempt 1, doubling per retry. @default 1 */
  baseDelaySeconds?: number;
  /** max_delay, seconds. @default 2 */
  maxDelaySeconds?: number;
  /** Workflow starts in flight while submitting. @default 32 */
  submitConcurrency?: number;
  /** Histories read per side and k (evenly sampled). @default 50 */
  historySample?: number;
  /** Also run the BullMQ peer (starts redis-server). @default false */
  peer?: boolean;
  /** BullMQ worker concurrency. @default our DESTINATION_MAX_CONCURRENCY */
  peerConcurrency?: number;
  /** Config overrides for our worker and the naive loop's worker. */
  config?: Partial<Record<string, string>>;
  /** Prebuilt bundle of workflows/ (tests). */
  workflowBundlePath?: string;
}

interface KResult {
  ours: SideResult;
  naive: SideResult;
  peer?: SideResult;
  /** Median history events per task (the typical history; load can add a workflow task timeout to a few). */
  oursEvents: number;
  naiveEvents: number;
  /** Shortest and longest sampled history, events. */
  oursEventsRange: number[];
  naiveEventsRange: number[];
}

/** Our HTTP task: waits base_delay before attempt 1, doubling per retry up to max_delay, enough attempts for k. */
export function retryHeavyTask(id: string, url: string, k: number, baseDelay: number, maxDelay: number): Task {
  return TaskInput.parse({
    id,
    source: 'bench',
    client_id: 'bench',
    destination_type: 'http',
    destination: { url: `${url}/hook` },
    message_data: JSON.stringify({ bench_id: id, event: 'order.created', amount: 42 }),
    max_retries: k + 2,
    base_delay: baseDelay,
    max_delay: maxDelay,
    park_retention: 0,
  });
}

/** Seconds of backoff before the (k+1)-th attempt: base·2^(j−1) capped at max, for j = 1 … k+1. */
export function backoffSeconds(k: number, base: number, max: number): number {
  let total = 0;
  for (let j = 1; j <= k + 1; j++) total += Math.min(base * 2 ** (j - 1), max);
  return total;
}

/**
 * Retry-heavy delivery: every task fails k times at the receiver (503) before it succeeds. Deliveries/s and the
 * history events per task and per retry cycle (from the workflows' histories: (events(k) − events(0)) / k), ours
 * next to the naive "sleep(backoff) then activity (maximumAttempts 1)" loop on the same server and worker settings,
 * and optionally BullMQ with attempts k+1 and the same backoff.
 *
 * Our worker runs with BREAKER_CONSECUTIVE_FAILURES raised to 10000: every task shares one destination, and the
 * per-destination circuit would otherwise open after 5 failures in a row and defer attempts (a feature, but not
 * what this scenario measures).
 */
export async function measureRetryHeavy(env: BenchEnv, opts: RetryHeavyOptions): Promise<Measurement> {
  const ks = [0, ...(opts.ks ?? [1, 3]).filter((k) => k > 0)];
  const base = opts.baseDelaySeconds ?? 1;
  const max = opts.maxDelaySeconds ?? 2;
  const concurrency = opts.submitConcurrency ?? 32;
  const sample = opts.historySample ?? 50;
  const config = { BREAKER_CONSECUTIVE_FAILURES: '10000', ...opts.config };
  const ours = await startOurService(env, { config, workflowBundlePath: opts.workflowBundlePath });
  let naiveLog: ArrivalLog | undefined;
  const naive = await startBaselineWorker(env, {
    config,
    record: (id, _attempt, ok) => {
      if (ok) naiveLog?.record(id);
    },
  });
  const peerConcurrency = opts.peerConcurrency ?? ours.config.DESTINATION_MAX_CONCURRENCY;
  const redis = opts.peer ? await startRedis() : undefined;
  const peer = redis ? await startBullPeer({ redisUrl: redis.url, concurrency: peerConcurrency }) : undefined;

  const byK = new Map<number, KResult>();
  try {
    for (const [index, k] of ks.entries()) {
      const minimumSeconds = backoffSeconds(k, base, max);
      const ids = (side: string) =>
        Array.from({ length: opts.n }, (_, i) => `rh-${side}-k${k}-${i}-${randomUUID().slice(0, 8)}`);

      const runOurs = async () => {
        const bar = deliveryProgress(`retry-heavy ours k=${k}`, opts.n);
        const receiver = await BenchReceiver.start({ failFirst: k, onDelivered: bar.tick });
        try {
          const tasks = ids('ours').map((id) => retryHeavyTask(id, receiver.url, k, base, max));
          const result = await runOurTasks(env, ours, tasks, receiver, {
            label: 'ours',
            concurrency,
            waitClosed: true,
            minimumSeconds,
            workerDone: ours.workerDone,
          });
          const events = await historyLengths(
            env.client,
            sampleEvenly(tasks, sample).map((t) => t.id),
          );
          return { result, events: median(events), range: [Math.min(...events), Math.max(...events)] };
        } finally {
          bar.stop();
          await receiver.stop();
        }
      };
      const runNaiveSide = async () => {
        const bar = deliveryProgress(`retry-heavy naive k=${k}`, opts.n);
        naiveLog = new ArrivalLog(bar.tick);
        try {
          const inputs: NaiveRetryInput[] = ids('naive').map((id) => ({
            id,
            failFirst: k,
            baseDelayMs: base * 1000,
            maxDelayMs: max * 1000,
            maxAttempts: k + 3,
          }));
          const result = await runNaive(env, naive.taskQueue, inputs, naiveLog, {
            label: 'naive',
            concurrency,
            waitClosed: true,
            minimumSeconds,
            workerDone: naive.workerDone,
          });
          const events = await historyLengths(
            env.client,
            sampleEvenly(inputs, sample).map((t) => t.id),
          );
          return { result, events: median(events), range: [Math.min(...events), Math.max(...events)] };
        } finally {
          bar.stop();
        }
      };
      const runPeer = async () => {
        const bar = deliveryProgress(`retry-heavy peer k=${k}`, opts.n);
        const receiver = await BenchReceiver.start({ failFirst: k, onDelivered: bar.tick });
        try {
          const tasks = ids('peer').map((id) => ({
            id,
            url: `${receiver.url}/hook`,
            body: JSON.stringify({ bench_id: id, event: 'order.created', amount: 42 }),
            delayMs: base * 1000,
            attempts: k + 1,
            backoff: { baseMs: base * 1000, maxMs: max * 1000 },
          }));
          return await runPeerTasks(peer!, tasks, receiver, { label: 'peer', minimumSeconds });
        } finally {
          bar.stop();
          await receiver.stop();
        }
      };

      // Alternate which side goes first from one k to the next.
      let o: Awaited<ReturnType<typeof runOurs>>;
      let nv: Awaited<ReturnType<typeof runNaiveSide>>;
      let p: SideResult | undefined;
      if (index % 2 === 0) {
        o = await runOurs();
        nv = await runNaiveSide();
        p = peer ? await runPeer() : undefined;
      } else {
        p = peer ? await runPeer() : undefined;
        nv = await runNaiveSide();
        o = await runOurs();
      }
      byK.set(k, {
        ours: o.result,
        naive: nv.result,
        peer: p,
        oursEvents: o.events,
        naiveEvents: nv.events,
        oursEventsRange: o.range,
        naiveEventsRange: nv.range,
      });
    }
  } finally {
    await peer?.stop();
    await redis?.stop();
    await ours.stop();
    await naive.stop();
    if (env.external) {
      await terminateRunning(env.client, ours.taskQueue);
      await terminateRunning(env.client, naive.taskQueue);
    }
  }

  const zero = byK.get(0)!;
  const rows: ResultRow[] = [];
  for (const [k, r] of byK) {
    const c = `k=${k}`;
    rows.push({
      scenario: 'retry-heavy',
      case: c,
      metric: 'deliveries/s',
      unit: 'tasks/s',
      ours: r.ours.perSecond,
      baseline: r.naive.perSecond,
      ...(r.peer ? { peer: r.peer.perSecond } : {}),
    });
    rows.push({
      scenario: 'retry-heavy',
      case: c,
      metric: 'p50 submit→delivery',
      unit: 'ms',
      ours: r.ours.latencyMs.p50,
      baseline: r.naive.latencyMs.p50,
      ...(r.peer ? { peer: r.peer.latencyMs.p50 } : {}),
    });
    rows.push({
      scenario: 'retry-heavy',
      case: c,
      metric: 'history events per task',
      unit: 'events',
      ours: r.oursEvents,
      baseline: r.naiveEvents,
    });
    if (k > 0) {
      const oursCycle = (r.oursEvents - zero.oursEvents) / k;
      const naiveCycle = (r.naiveEvents - zero.naiveEvents) / k;
      rows.push({
        scenario: 'retry-heavy',
        case: c,
        metric: 'history events per retry cycle',
        unit: 'events',
        ours: oursCycle,
        baseline: naiveCycle,
        target: `ours ≤ ${EVENTS_PER_CYCLE_TARGET} × naive loop`,
        target_met: oursCycle <= EVENTS_PER_CYCLE_TARGET * naiveCycle,
      });
    }
  }
  return {
    rows,
    extra: {
      n: opts.n,
      ks,
      base_delay_s: base,
      max_delay_s: max,
      submit_concurrency: concurrency,
      history_sample: sample,
      breaker_consecutive_failures: ours.config.BREAKER_CONSECUTIVE_FAILURES,
      peer_concurrency: peer ? peerConcurrency : undefined,
      minimum_backoff_s: Object.fromEntries(ks.map((k) => [`k=${k}`, backoffSeconds(k, base, max)])),
      notes:
        'baseline = naive loop: sleep(backoff) then a no-op activity failing its first k attempts (maximumAttempts ' +
        '1), same server and worker options. Events per retry cycle = (events(k) − events(0)) / k, median of the ' +
        'sampled histories (their range is in per_k). Peer = BullMQ on Redis, attempts k+1, same backoff.',
      per_k: Object.fromEntries([...byK].map(([k, r]) => [`k=${k}`, r])),
    },
  };
}

/** `npm run bench -- retry-heavy [--quick] [--n N] [--ks 1,3] [--no-peer] [--set KEY=VALUE]` */
export const retryHeavyScenario: Scenario = {
  describe: 'retry-heavy (k failures before success): deliveries/s, history events per retry cycle vs naive loop',
  async run({ quick, args }) {
    const env = await startBenchEnv({ kafka: false });
    try {
      const { rows, extra } = await measureRetryHeavy(env, {
        n: numberArg(args, '--n', quick ? 20 : 200),
        ks: (stringArg(args, '--ks') ?? '1,3').split(',').map(Number),
        peer: !flag(args, '--no-peer'),
        config: configArgs(args),
      });
      saveResults('retry-heavy', rows, { ...extra, quick });
    } finally {
      await env.stop();
    }
  },
};
