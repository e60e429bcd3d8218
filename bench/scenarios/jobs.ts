import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_BATCH } from '../../api/schemas';
import { numberArg, type Scenario } from '../lib/cli';
import { runPool } from '../lib/engine';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { progress } from '../lib/progress';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService } from '../lib/service';
import { summarize } from '../lib/stats';

/**
 * Issue 17: a bulk requeue of N dead letters as a job (POST /dead-letters/requeue by filter) through the real API and
 * worker. Reports the job's requeue rate (tasks handled per second, start to finish, as GET /jobs/{id} reports it),
 * and the API's GET /tasks/{id} latency while the job runs (a probe loop on random tasks of the N), with the load
 * average of the machine meanwhile. The dead letters are tasks with max_retries 0 (parked at once, no attempt).
 */
export async function measureJobs(env: BenchEnv, n: number, perSecond: number): Promise<ResultRow[]> {
  const ours = await startOurService(env, {
    api: true,
    config: { BULK_REQUEUE_PER_SECOND: String(perSecond) },
  });
  const api = (path: string, init?: RequestInit) =>
    fetch(`${ours.apiUrl}${path}`, { headers: { 'content-type': 'application/json' }, ...init });
  const post = async (path: string, body: unknown) => {
    const res = await api(path, { method: 'POST', body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    // 1. N dead letters, submitted in batches of MAX_BATCH.
    const client_id = `jobs-bench-${randomUUID()}`;
    const ids = Array.from({ length: n }, (_, i) => `jobs-bench-${i}-${randomUUID()}`);
    const batches = Math.ceil(n / MAX_BATCH);
    const submitted = progress('jobs: dead letters submitted', n);
    await runPool(batches, 2, async (b) => {
      const tasks = ids.slice(b * MAX_BATCH, (b + 1) * MAX_BATCH).map((id) => ({
        id,
        source: 'bench',
        client_id,
        destination_type: 'http',
        destination: { url: 'http://127.0.0.1:9/never-called' },
        message_data: '{"event":"order.created"}',
        max_retries: 0,
        base_delay: 1,
      }));
      const answer = await post('/tasks/batch', { tasks });
      if (answer.started !== tasks.length) throw new Error(`batch ${b}: ${JSON.stringify(answer).slice(0, 300)}`);
      submitted.tick(tasks.length);
    });
    submitted.stop();
    const filter = { client_id };
    const parkStart = Date.now();
    for (;;) {
      const dry = await post('/dead-letters/requeue', { filter, dry_run: true, limit: n });
      if (dry.count === n) break;
      if (Date.now() - parkStart > Math.max(120_000, n * 20))
        throw new Error(`only ${String(dry.count)} of ${n} parked`);
      await sleep(2000);
    }

    // 2. The job: requeued tasks wait a day before their next attempt, so each stays scheduled.
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const started = await post('/dead-letters/requeue', {
      filter,
      limit: n,
      overrides: { deliver_at: later, max_retries: 1 },
    });
    const jobId = String(started.job_id);

    // 3. While it runs: GET /tasks/{id} on random tasks, one at a time, and the load average every second.
    let running = true;
    const latencies: number[] = [];
    const errors: string[] = [];
    const loads: number[] = [];
    const probe = (async () => {
      while (running) {
        const id = ids[Math.floor(Math.random() * n)]!;
        const t0 = performance.now();
        const res = await api(`/tasks/${id}`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) errors.push(`GET /tasks/${id}: ${res.status}`);
        await sleep(20);
      }
    })();
    let job: Record<string, unknown> = {};
    // Sized for a floor of 10 tasks/s (the pace is an upper bound: the engine sets the real rate, ~20–35/s here).
    const timeoutMs = Math.max(300_000, (n / Math.min(perSecond, 10)) * 1000);
    const jobStart = Date.now();
    const requeued = progress('jobs: requeued by the job', n);
    let reported = 0;
    while (Date.now() - jobStart < timeoutMs) {
      loads.push(os.loadavg()[0]!);
      const res = await api(`/jobs/${jobId}`);
      if (res.status !== 200) errors.push(`GET /jobs/${jobId}: ${res.status}`);
      else job = (await res.json()) as Record<string, unknown>;
      const handled = Number(job.done ?? 0) + Number(job.skipped ?? 0) + Number(job.failed ?? 0);
      requeued.tick(handled - reported);
      reported = handled;
      if (job.state !== undefined && job.state !== 'running') break;
      await sleep(1000);
    }
    requeued.stop();
    running = false;
    await probe;
    if (job.state !== 'completed' || job.done !== n) throw new Error(`job did not complete: ${JSON.stringify(job)}`);
    if (errors.length > 0) console.error(`jobs bench: ${errors.length} error answers, first: ${errors[0]}`);

    const seconds = (Date.parse(String(job.finished_at)) - Date.parse(String(job.started_at))) / 1000;
    const lat = summarize(latencies);
    const load = summarize(loads);
    const row = (metric: string, unit: string, value: number): ResultRow => ({
      scenario: 'jobs',
      case: `n=${n} per_second=${perSecond}`,
      metric,
      unit,
      ours: Math.round(value * 10) / 10,
    });
    return [
      { ...row('requeue rate (job start to finish)', 'tasks/s', n / seconds), baseline: perSecond },
      row('GET /tasks/{id} p50 while the job runs', 'ms', lat.p50),
      row('GET /tasks/{id} p99 while the job runs', 'ms', lat.p99),
      row('GET /tasks/{id} or /jobs/{id} error answers while the job runs', 'answers', errors.length),
      row('load average (1 min) while the job runs, mean', 'load', load.mean),
    ];
  } finally {
    await ours.stop();
  }
}

/** `npm run bench -- jobs [--quick] [--n N] [--per-second R]` (R: BULK_REQUEUE_PER_SECOND, the job's pace). */
export const jobsScenario: Scenario = {
  describe: 'jobs: bulk requeue of N dead letters as a job — requeue rate, API GET /tasks/{id} p99 meanwhile',
  async run({ quick, args }) {
    const n = numberArg(args, '--n', quick ? 200 : 10_000);
    const perSecond = numberArg(args, '--per-second', quick ? 100 : 1000);
    const env = await startBenchEnv();
    try {
      saveResults('jobs', await measureJobs(env, n, perSecond), { n, per_second: perSecond, cpus: os.cpus().length });
    } finally {
      await env.stop();
    }
  },
};
