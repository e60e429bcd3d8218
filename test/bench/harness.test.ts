import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectBenchEnv, type BenchEnv } from '../../bench/lib/env';
import { BenchReceiver } from '../../bench/lib/receiver';
import { cpuPer, machineBusyMs } from '../../bench/lib/cpu';
import { designEvents } from '../../bench/lib/engine';
import { TABLE_END, TABLE_START, saveResults, type ResultFile } from '../../bench/lib/results';
import { percentile, summarize } from '../../bench/lib/stats';
import { opsPerTask, parseCounters, serverOps } from '../../bench/lib/server-ops';
import { measureFirstTry } from '../../bench/scenarios/first-try';
import { measureReceiverAck } from '../../bench/scenarios/receiver-ack';
import { measureRetryHeavy } from '../../bench/scenarios/retry-heavy';

/**
 * The benchmark harness at tiny sizes against the run's stack: the measurements deliver for real, read real
 * histories, and write their results to a temp folder (never bench/results or BENCHMARKS.md).
 */
let env: BenchEnv;
let outDir: string;
const saved = { dir: process.env.BENCH_RESULTS_DIR, quiet: process.env.BENCH_QUIET };

beforeAll(async () => {
  outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
  process.env.BENCH_RESULTS_DIR = outDir;
  process.env.BENCH_QUIET = '1';
  env = await connectBenchEnv({ temporalAddress: inject('temporalAddress'), kafkaBrokers: inject('kafkaBrokers') });
});

afterAll(async () => {
  await env?.stop();
  rmSync(outDir, { recursive: true, force: true });
  if (saved.dir === undefined) delete process.env.BENCH_RESULTS_DIR;
  else process.env.BENCH_RESULTS_DIR = saved.dir;
  if (saved.quiet === undefined) delete process.env.BENCH_QUIET;
  else process.env.BENCH_QUIET = saved.quiet;
});

describe('bench harness', () => {
  it('counts the events of a history by design: a timed-out or failed workflow task and its try are left out', () => {
    type Event = Parameters<typeof designEvents>[0][number];
    const scheduled = { workflowTaskScheduledEventAttributes: {} } as Event;
    const started = { workflowTaskStartedEventAttributes: {} } as Event;
    const completed = { workflowTaskCompletedEventAttributes: {} } as Event;
    const plain = [{}, scheduled, started, completed, {}];
    expect(designEvents(plain)).toBe(5);
    // Started then timed out (a busy worker), retried and completed: the same 5 by design.
    const timedOut = { workflowTaskTimedOutEventAttributes: { scheduledEventId: 2, startedEventId: 3 } };
    expect(designEvents([{}, scheduled, started, timedOut, scheduled, started, completed, {}])).toBe(5);
    // Never started on the sticky queue (schedule-to-start timeout): its scheduled event and the timeout go.
    const notStarted = { workflowTaskTimedOutEventAttributes: { scheduledEventId: 2, startedEventId: 0 } };
    expect(designEvents([{}, scheduled, notStarted, scheduled, started, completed, {}])).toBe(5);
    const failed = { workflowTaskFailedEventAttributes: { scheduledEventId: 2, startedEventId: 3 } };
    expect(designEvents([{}, scheduled, started, failed, scheduled, started, completed, {}])).toBe(5);
  });

  it('first-try delivers every task over HTTP and Kafka and measures the raw-engine ceiling beside them', async () => {
    const { rows, extra } = await measureFirstTry(env, {
      n: 5,
      warmup: 0,
      kafka: true,
      peer: false,
      workflowBundlePath: inject('workflowBundlePath'),
    });
    const perRound = extra.per_round as Record<string, { n: number; perSecond: number; eventsPerTask: number }[]>;
    expect(perRound.http?.[0]?.n).toBe(5);
    expect(perRound.kafka?.[0]?.n).toBe(5);
    expect(perRound.raw?.[0]?.n).toBe(5);
    // start → activity → complete: 11 events, as the naive loop's reference counts assume.
    expect(perRound.raw?.[0]?.eventsPerTask).toBe(11);
    const throughput = rows.find((r) => r.case === 'http' && r.metric === 'deliveries/s')!;
    expect(throughput.ours).toBeGreaterThan(0);
    expect(throughput.baseline).toBeGreaterThan(0);
    expect(throughput.target_met).toBe(throughput.ours / throughput.baseline! >= 0.9);
    expect(rows.some((r) => r.case === 'kafka' && r.metric === 'p99 submit→arrival' && r.ours > 0)).toBe(true);
  });

  it('retry-heavy counts history events per retry cycle: ours below the naive timer-then-activity loop', async () => {
    const { rows } = await measureRetryHeavy(env, {
      n: 5,
      ks: [1],
      baseDelaySeconds: 0.2,
      maxDelaySeconds: 0.4,
      peer: false,
      workflowBundlePath: inject('workflowBundlePath'),
    });
    const cycle = rows.find((r) => r.metric === 'history events per retry cycle')!;
    expect(cycle.case).toBe('k=1');
    // A failed attempt in the naive loop: timer started/fired, activity scheduled/started/failed, two workflow tasks.
    expect(cycle.baseline).toBe(11);
    expect(cycle.ours).toBeGreaterThanOrEqual(0);
    expect(cycle.ours).toBeLessThan(cycle.baseline!);
    expect(cycle.target_met).toBe(cycle.ours <= 0.5 * cycle.baseline!);
    const delivered = rows.filter((r) => r.metric === 'deliveries/s');
    expect(delivered.map((r) => r.case)).toEqual(['k=0', 'k=1']);
    for (const r of delivered) expect(r.ours).toBeGreaterThan(0);
  });

  it('receiver-ack measures history per acked delivery: every ack taken, at most one workflow task more', async () => {
    const rows = await measureReceiverAck(env, 3, inject('workflowBundlePath'));
    const events = rows.find((r) => r.metric.startsWith('history events'))!;
    expect(events.ours).toBeGreaterThan(events.baseline!);
    const tasks = rows.find((r) => r.metric.startsWith('workflow tasks'))!;
    expect(tasks.target_met).toBe(tasks.ours <= tasks.baseline! + 1);
    expect(tasks.ours - tasks.baseline!).toBeGreaterThanOrEqual(0);
  });

  it('saves results as JSON with machine and commit, and regenerates the table between the markers', () => {
    const file = saveResults('unit', [
      { scenario: 'unit', case: 'c', metric: 'deliveries/s', unit: 'tasks/s', ours: 90, baseline: 100 },
    ]);
    expect(path.dirname(file)).toBe(outDir);
    expect(path.basename(file)).toMatch(/^unit-\d{4}-\d{2}-\d{2}\.json$/);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ResultFile;
    expect(parsed.machine.cpus).toBeGreaterThan(0);
    expect(parsed.machine.node).toBe(process.version);
    // The load average is part of every figure: at the bench process's start (its neighbours) and at the save.
    expect(parsed.machine.load_average?.at_start).toHaveLength(3);
    expect(parsed.machine.load_average?.at_end).toHaveLength(3);
    expect(parsed.commit.sha).toMatch(/^[0-9a-f]{4,}$|^unknown$/);
    expect(parsed.rows[0]?.ratio_baseline).toBeCloseTo(0.9);
    const markdown = readFileSync(path.join(outDir, 'BENCHMARKS.md'), 'utf8');
    const table = markdown.slice(markdown.indexOf(TABLE_START), markdown.indexOf(TABLE_END));
    expect(table).toMatch(/\| unit +\| c +\| deliveries\/s \(tasks\/s\) +\| 90\.0 +\| 100 +\|/);
    expect(existsSync(path.join(outDir, 'unit-' + parsed.date.slice(0, 10) + '.json'))).toBe(true);
  });

  it("reads the dev server's counters: a signal-with-start shows as a signal and execution writes", async () => {
    const url = inject('temporalMetricsUrl');
    expect(url, 'the global setup starts the dev server with a metrics port').toMatch(/^http/);
    const before = await serverOps(url);
    const id = `server-ops-${Date.now()}`;
    // No worker polls this type: the server records the start and the signal, and nothing else runs.
    const handle = await env.client.workflow.signalWithStart('noSuchWorkflow', {
      taskQueue: `server-ops-${Date.now()}`,
      workflowId: id,
      signal: 'poke',
      signalArgs: [],
    });
    await handle.terminate('bench harness test');
    // The server exports its counters every second or so. Other test files share it: their calls may add to the
    // counts, never take from them.
    const grown = async () => opsPerTask(before, await serverOps(url), 1)!;
    await expect
      .poll(async () => (await grown()).signals, { timeout: 30_000, interval: 500 })
      .toBeGreaterThanOrEqual(1);
    expect((await grown()).writes).toBeGreaterThanOrEqual(1);
  });

  it('sums the Prometheus counters over their other labels, by name, operation and service', () => {
    const text = [
      '# TYPE service_requests counter',
      'service_requests{namespace="a",operation="RespondWorkflowTaskCompleted",service_name="frontend"} 3',
      'service_requests{namespace="b",operation="RespondWorkflowTaskCompleted",service_name="frontend"} 4',
      'service_requests{operation="RespondWorkflowTaskCompleted",service_name="history"} 100',
      'persistence_requests{operation="UpdateWorkflowExecution",service_name="history"} 5',
      'persistence_requests_latency_bucket{operation="UpdateWorkflowExecution",service_name="history",le="1"} 9',
    ].join('\n');
    const counters = parseCounters(text);
    expect(counters.get('service_requests/RespondWorkflowTaskCompleted/frontend')).toBe(7);
    expect(counters.get('persistence_requests/UpdateWorkflowExecution/history')).toBe(5);
    expect(opsPerTask(new Map(), counters, 2)).toEqual({ workflowTasks: 3.5, signals: 0, writes: 2.5 });
    expect(opsPerTask(undefined, counters, 2)).toBeUndefined();
  });

  it('splits the machine CPU per unit into this process, the server and everything else', () => {
    const per = cpuPer({ selfMs: 0, serverMs: 0, machineMs: 0 }, { selfMs: 100, serverMs: 50, machineMs: 400 }, 10);
    expect(per).toEqual({ self: 10, server: 5, other: 25 });
    // No machine figure (not Linux): no `other`, never a made-up one.
    expect(cpuPer({ selfMs: 0 }, { selfMs: 30 }, 3)).toEqual({ self: 10, server: undefined });
    // The machine's own counter is real and moves with work done in this process.
    const before = machineBusyMs();
    const until = Date.now() + 50;
    while (Date.now() < until);
    if (before !== undefined) expect(machineBusyMs()!).toBeGreaterThan(before);
  });

  it('the receiver fails the first k requests of each id, then counts one delivery per id', async () => {
    const receiver = await BenchReceiver.start({ failFirst: 2 });
    try {
      const post = (id: string) =>
        fetch(`${receiver.url}/hook`, { method: 'POST', body: JSON.stringify({ bench_id: id }) }).then((r) => r.status);
      expect([await post('a'), await post('a'), await post('a'), await post('b')]).toEqual([503, 503, 200, 503]);
      await receiver.waitFor(1, 1_000);
      expect(receiver.arrivals().map((a) => a.id)).toEqual(['a']);
      expect(receiver.count('a')).toBe(3);
      await expect(receiver.waitFor(2, 50)).rejects.toThrow('1/2');
    } finally {
      await receiver.stop();
    }
  });

  it('percentiles and summaries use nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(summarize(values)).toEqual({ n: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
    expect(summarize([]).n).toBe(0);
  });
});
