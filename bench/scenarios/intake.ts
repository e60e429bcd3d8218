import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { configArgs, numberArg, stringArg, type Scenario } from '../lib/cli';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { runFor, terminateRunning } from '../lib/engine';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService } from '../lib/service';
import { summarize } from '../lib/stats';
import type { Measurement } from './first-try';

/** Options of {@link measureIntake}. */
export interface IntakeOptions {
  /** In-flight requests (ours) / starts (baseline) to sweep. @default [1, 8, 32] */
  concurrencies?: number[];
  /** How long each side runs per concurrency, milliseconds. */
  durationMs: number;
  /** Tasks per POST /tasks/batch. @default 100 */
  batchSize?: number;
  /** Config overrides for the API. */
  config?: Partial<Record<string, string>>;
}

/** The seed-002 HTTP task body, waiting the 5-day tier so nothing is delivered during the benchmark. */
export function intakeBody(id: string): Record<string, unknown> {
  return {
    id,
    source: 'bench',
    client_id: 'bench',
    destination_type: 'http',
    destination: { url: 'http://127.0.0.1:9/hook' },
    message_data: JSON.stringify({ bench_id: id, event: 'order.created', amount: 42 }),
    max_retries: 3,
    base_delay: 10,
    delay_tier: '5d',
  };
}

interface Sample {
  perSecond: number;
  latencyMs: ReturnType<typeof summarize>;
  errors: number;
}

/**
 * Intake: tasks accepted per second through our real API (POST /tasks, and POST /tasks/batch of 100) at a sweep
 * of concurrencies, next to the engine's intake ceiling: raw `client.workflow.start` of the minimal workflow from the
 * same process at the same number of starts in flight (for a batch: concurrency × BATCH_CONCURRENCY, the starts the
 * API keeps in flight). No worker runs on either side, so only acceptance is measured.
 */
export async function measureIntake(env: BenchEnv, opts: IntakeOptions): Promise<Measurement> {
  const concurrencies = opts.concurrencies ?? [1, 8, 32];
  const batchSize = opts.batchSize ?? 100;
  const ours = await startOurService(env, { api: true, worker: false, config: opts.config });
  // No worker polls this queue: the raw starts are accepted and stay scheduled, as ours do.
  const rawQueue = `bench-raw-intake-${randomUUID()}`;
  const batchConcurrency = ours.config.BATCH_CONCURRENCY;
  const pool = new Pool(ours.apiUrl!, { connections: Math.max(...concurrencies), pipelining: 1 });

  const post = async (path: string, body: unknown, expect: number) => {
    const res = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== expect) throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    return text;
  };

  /** Runs `call` in `c` lanes for the duration; each call reports how many tasks it got accepted. */
  const measure = async (label: string, c: number, call: () => Promise<number>): Promise<Sample> => {
    const latencies: number[] = [];
    let accepted = 0;
    let errors = 0;
    process.stderr.write(`intake ${label} …\n`);
    const { elapsedMs } = await runFor(opts.durationMs, c, async () => {
      const started = performance.now();
      try {
        // Not `accepted += await call()`: that reads `accepted` before the await and loses the other lanes' adds.
        const got = await call();
        accepted += got;
        latencies.push(performance.now() - started);
      } catch (err) {
        if (errors++ === 0) console.error(`intake ${label}: ${(err as Error).message}`);
      }
    });
    return { perSecond: accepted / (elapsedMs / 1000), latencyMs: summarize(latencies), errors };
  };

  const single = () => post('/tasks', intakeBody(`in-${randomUUID()}`), 201).then(() => 1);
  const batch = async () => {
    const tasks = Array.from({ length: batchSize }, () => intakeBody(`inb-${randomUUID()}`));
    const text = await post('/tasks/batch', { tasks }, 200);
    return (JSON.parse(text) as { started: number }).started;
  };
  const rawStart = async () => {
    const id = `inr-${randomUUID()}`;
    await env.client.workflow.start('rawEngine', { taskQueue: rawQueue, workflowId: id, args: [id] });
    return 1;
  };

  const rows: ResultRow[] = [];
  const samples: Record<string, Sample> = {};
  try {
    await measure('warm-up', 4, single); // connections, JIT, the API's first requests
    for (const [index, c] of concurrencies.entries()) {
      const rawBatchLanes = c * batchConcurrency;
      const plan: [string, number, () => Promise<number>][] = [
        [`ours single c=${c}`, c, single],
        [`raw single c=${c}`, c, rawStart],
        [`ours batch c=${c}`, c, batch],
        [`raw batch c=${c}`, rawBatchLanes, rawStart],
      ];
      // Alternate the order from one concurrency to the next.
      for (const [label, lanes, call] of index % 2 === 0 ? plan : [...plan].reverse()) {
        samples[label] = await measure(label, lanes, call);
      }
      rows.push(
        {
          scenario: 'intake',
          case: `POST /tasks c=${c}`,
          metric: 'tasks accepted/s',
          unit: 'tasks/s',
          ours: samples[`ours single c=${c}`]!.perSecond,
          baseline: samples[`raw single c=${c}`]!.perSecond,
        },
        {
          scenario: 'intake',
          case: `POST /tasks/batch (${batchSize}) c=${c}`,
          metric: 'tasks accepted/s',
          unit: 'tasks/s',
          ours: samples[`ours batch c=${c}`]!.perSecond,
          baseline: samples[`raw batch c=${c}`]!.perSecond,
        },
      );
    }
  } finally {
    await pool.close();
    await ours.stop();
    if (env.external) {
      await terminateRunning(env.client, ours.taskQueue);
      await terminateRunning(env.client, rawQueue);
    }
  }
  return {
    rows,
    extra: {
      duration_ms_per_side: opts.durationMs,
      batch_size: batchSize,
      batch_concurrency: batchConcurrency,
      notes:
        'baseline = raw client.workflow.start of the minimal workflow, same process, same starts in flight ' +
        '(batch: c × BATCH_CONCURRENCY). No worker runs: acceptance only. Load generator, API and client share ' +
        'the process.',
      samples,
    },
  };
}

/** `npm run bench -- intake [--quick] [--seconds S] [--c 1,8,32] [--batch 100] [--set KEY=VALUE]` */
export const intakeScenario: Scenario = {
  describe: 'tasks accepted/s through POST /tasks and /tasks/batch vs raw workflow starts (the engine ceiling)',
  async run({ quick, args }) {
    const env = await startBenchEnv({ kafka: false });
    try {
      const { rows, extra } = await measureIntake(env, {
        durationMs: numberArg(args, '--seconds', quick ? 1 : 6) * 1000,
        concurrencies: (stringArg(args, '--c') ?? (quick ? '1,4' : '1,8,32')).split(',').map(Number),
        batchSize: numberArg(args, '--batch', quick ? 20 : 100),
        config: configArgs(args),
      });
      saveResults('intake', rows, { ...extra, quick });
    } finally {
      await env.stop();
    }
  },
};
