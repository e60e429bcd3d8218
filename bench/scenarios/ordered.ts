import { randomUUID } from 'node:crypto';
import { TaskInput, type Task } from '../../domain/task';
import { orderingWorkflowId } from '../../domain/ordering';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { cpuPer, cpuSnapshot, findTemporalServerPid } from '../lib/cpu';
import { historyLengths, sampleEvenly, terminateRunning } from '../lib/engine';
import { BenchReceiver } from '../lib/receiver';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService } from '../lib/service';
import { deliveryProgress, runOurTasks, type SideResult } from '../lib/sides';
import { median } from '../lib/stats';
import { opsPerTask, serverOps, settledOps, type ServerOpsPerTask } from '../lib/server-ops';
import { configArgs, numberArg, stringArg, type Scenario } from '../lib/cli';
import { firstTryHttpTask } from './first-try';

/** Ordered throughput must reach this fraction of unordered throughput in the same run (issue 15). */
export const ORDERED_TARGET = 0.8;

/** `ordered-batch`: the ordered tasks started as POST /tasks/batch starts one batch of them all (sides.ts `asBatch`). */
const allSides = ['unordered', 'ordered', 'ordered-batch'] as const;
type Side = (typeof allSides)[number];

/** Per side: its result, and for the ordered side the key workflows' events spread over its tasks. */
interface OrderedSideResult extends SideResult {
  keyEventsPerTask?: number;
  /** What the server did per task (bench/lib/server-ops.ts); absent when its counters cannot be read. */
  serverOps?: ServerOpsPerTask;
}

/**
 * Ordered vs unordered throughput: N first-try HTTP tasks spread over `keys` ordering keys (task i on key i mod
 * keys), next to the same N tasks without a key, on the same worker; rounds alternate the side order. Also the cost
 * of ordering: a task's history events, the key workflows' events per task, and CPU per task.
 */
export async function measureOrdered(
  env: BenchEnv,
  opts: {
    n: number;
    keys: number;
    rounds: number;
    concurrency: number;
    /** The sides to run (all by default); a profile of one side runs it alone. */
    sides?: Side[];
    config?: Record<string, string>;
  },
) {
  const ours = await startOurService(env, { config: opts.config });
  const serverPid = findTemporalServerPid(env.temporalAddress);
  const results = new Map<Side, OrderedSideResult[]>([
    ['unordered', []],
    ['ordered', []],
    ['ordered-batch', []],
  ]);
  const runSide = async (side: Side, n: number, tag: string): Promise<OrderedSideResult> => {
    const run = randomUUID().slice(0, 8);
    const keyOf = (i: number) => `bench-${run}-${i % opts.keys}`;
    const bar = deliveryProgress(`ordered ${side} ${tag}`, n);
    const receiver = await BenchReceiver.start({ onDelivered: bar.tick });
    try {
      const tasks: Task[] = Array.from({ length: n }, (_, i) => {
        const base = firstTryHttpTask(`ord-${side}-${tag}-${i}-${run}`, receiver.url);
        return side === 'unordered' ? base : TaskInput.parse({ ...base, ordering_key: keyOf(i) });
      });
      const before = cpuSnapshot(serverPid);
      const opsBefore = await serverOps(env.temporalMetricsUrl);
      // Key workflows never close: wait for the deliveries, not for every workflow on the queue to close.
      const result = await runOurTasks(env, ours, tasks, receiver, {
        label: side,
        concurrency: opts.concurrency,
        workerDone: ours.workerDone,
        asBatch: side === 'ordered-batch',
      });
      // After the last delivery the last workflow tasks still complete: both measures wait for the server to settle.
      const opsAfter = await settledOps(env.temporalMetricsUrl);
      const cpuMsPerTask = cpuPer(before, cpuSnapshot(serverPid), n);
      const ops = opsPerTask(opsBefore, opsAfter, n);
      const lengths = await historyLengths(
        env.client,
        sampleEvenly(
          tasks.map((t) => t.id),
          20,
        ),
      );
      const keyIds =
        side !== 'unordered' ? Array.from({ length: opts.keys }, (_, k) => orderingWorkflowId(keyOf(k))) : [];
      // Latest run of each key: the whole history while a key holds fewer tasks than it continues as new at.
      const keyEvents = keyIds.length ? (await historyLengths(env.client, keyIds)).reduce((a, b) => a + b, 0) : 0;
      return {
        ...result,
        cpuMsPerTask,
        eventsPerTask: median(lengths),
        eventsRange: [Math.min(...lengths), Math.max(...lengths)],
        ...(side !== 'unordered' ? { keyEventsPerTask: keyEvents / n } : {}),
        ...(ops ? { serverOps: ops } : {}),
      };
    } finally {
      bar.stop();
      await receiver.stop();
    }
  };
  try {
    const forward = opts.sides ?? allSides;
    // Unmeasured: the first side of a run would otherwise also pay for loading the workflow code and the JIT.
    const warmup = Math.min(50, opts.n);
    for (const side of forward) await runSide(side, warmup, 'warm-up');
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? forward : [...forward].reverse();
      for (const side of order) results.get(side)!.push(await runSide(side, opts.n, `r${round + 1}`));
    }
  } finally {
    await ours.stop();
    // Key workflows run until terminated; tasks are closed by now.
    await terminateRunning(env.client, ours.taskQueue);
  }
  const med = (side: Side, pick: (r: OrderedSideResult) => number | undefined) => {
    const values = results
      .get(side)!
      .map(pick)
      .filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const rowsOf = (side: Exclude<Side, 'unordered'>, label: string): ResultRow[] => {
    const row = (metric: string, unit: string, pick: (r: OrderedSideResult) => number | undefined): ResultRow => ({
      scenario: 'ordered',
      case: `${opts.keys} keys${label}`,
      metric,
      unit,
      ours: med(side, pick)!,
      baseline: med('unordered', pick),
    });
    const unordered = med('unordered', (r) => r.perSecond);
    const target =
      unordered !== undefined
        ? {
            target: `ordered ≥ ${ORDERED_TARGET} × unordered`,
            target_met: med(side, (r) => r.perSecond)! / unordered >= ORDERED_TARGET,
          }
        : {};
    return [
      { ...row('deliveries/s', 'tasks/s', (r) => r.perSecond), ...target },
      row('history events per task', 'events', (r) => r.eventsPerTask),
      { ...row('key workflow events per task', 'events', (r) => r.keyEventsPerTask), baseline: 0 },
      row('worker-side CPU per task', 'ms', (r) => r.cpuMsPerTask?.self),
      ...(serverPid !== undefined ? [row('Temporal server CPU per task', 'ms', (r) => r.cpuMsPerTask?.server)] : []),
      ...(env.temporalMetricsUrl !== undefined
        ? [
            row('server workflow tasks per task', 'tasks', (r) => r.serverOps?.workflowTasks),
            row('server signals per task (incl. signal-with-start)', 'calls', (r) => r.serverOps?.signals),
            row('server execution writes per task', 'writes', (r) => r.serverOps?.writes),
          ]
        : []),
      row('p50 submit→arrival', 'ms', (r) => r.latencyMs.p50),
    ];
  };
  const ran = (side: Side) => results.get(side)!.length > 0;
  const rows = [
    ...(ran('ordered') ? rowsOf('ordered', '') : []),
    ...(ran('ordered-batch') ? rowsOf('ordered-batch', ', one batch') : []),
  ];
  return {
    rows,
    extra: {
      n: opts.n,
      keys: opts.keys,
      rounds: opts.rounds,
      submit_concurrency: opts.concurrency,
      notes:
        'baseline = the same first-try HTTP tasks without ordering_key on the same worker; ordered = task i on key ' +
        'i mod keys, started one by one in item order; "one batch" = the same ordered tasks started as POST ' +
        '/tasks/batch starts one batch of them all (places in item order, the tasks of a key started next to each ' +
        'other). Each side first runs min(50, n) tasks unmeasured (warm-up). Throughput is n / (first submit → ' +
        'last arrival).',
      per_round: Object.fromEntries(results),
    },
  };
}

/** `--sides unordered,ordered`: a subset of the sides, in that order (all three when absent). */
function sidesArg(value: string | undefined): Side[] | undefined {
  if (value === undefined) return undefined;
  const sides = value.split(',');
  for (const side of sides)
    if (!(allSides as readonly string[]).includes(side))
      throw new Error(`--sides takes ${allSides.join(', ')} (comma-separated); got ${JSON.stringify(side)}`);
  return sides as Side[];
}

/** `npm run bench -- ordered [--quick] [--n N] [--keys K] [--rounds R] [--sides S,S]` */
export const orderedScenario: Scenario = {
  describe: 'ordered (ordering_key over K keys) vs unordered first-try deliveries/s, events and CPU per task',
  async run({ quick, args }) {
    const options = {
      n: numberArg(args, '--n', quick ? 100 : 1000),
      keys: numberArg(args, '--keys', 50),
      rounds: numberArg(args, '--rounds', quick ? 1 : 2),
      concurrency: numberArg(args, '--concurrency', 32),
      sides: sidesArg(stringArg(args, '--sides')),
      config: configArgs(args),
    };
    const env = await startBenchEnv({ kafka: false });
    const measured = await measureOrdered(env, options).finally(() => env.stop());
    saveResults('ordered', measured.rows, { ...measured.extra, quick });
  },
};
