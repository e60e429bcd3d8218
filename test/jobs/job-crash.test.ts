import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Lab, until, type Child } from '../../chaos/lab';
import type { TaskStatus } from '../../domain/status';
import { StatusMemoKey } from '../../domain/visibility';
import { eventually, httpTask, startHarness, whileProgressing, type Harness } from '../api/harness';

/**
 * A bulk requeue job over 1,000 dead letters survives a kill -9 of the worker midway: the worker runs as its own
 * process (as `npm run worker` does), is killed while the job's batches run, and a new worker finishes the job.
 * Every task must be requeued exactly once.
 */
const TASKS = 1000;
let h: Harness;
const lab = new Lab();
let worker: Child | undefined;

function startWorker(): Child {
  return lab.spawn(
    'worker/main.ts',
    {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: h.config.TASK_QUEUE,
      KAFKA_BROKERS: inject('kafkaBrokers').join(','),
      SSRF_ALLOW: '127.0.0.1',
      INGRESS_ENABLED: 'false',
    },
    'worker',
  );
}
async function kill9(child: Child | undefined) {
  child?.proc.kill('SIGKILL');
  await child?.exited;
}
/** Waits until a worker polls the task queue (GET /health checks that). */
async function workerPolling() {
  const ok = await until(async () => (await fetch(`${h.api.url}/health`)).status === 200, 180_000);
  expect(ok).toBe(true);
}
async function getJob(jobId: string) {
  const res = await fetch(`${h.api.url}/jobs/${jobId}`);
  return { status: res.status, body: (await res.json()) as { state: string; done: number; [k: string]: unknown } };
}

beforeAll(async () => {
  // 100 tasks per second: the job runs for about ten seconds in batches of 100, long enough to be killed midway.
  h = await startHarness({ env: { BULK_REQUEUE_PER_SECOND: '100' } });
  worker = startWorker();
  await workerPolling();
});
afterAll(async () => {
  await kill9(worker);
  await h?.stop();
});

describe('bulk requeue job under a worker crash', () => {
  it('requeues each of 1,000 dead letters exactly once although the worker is killed with -9 midway', async () => {
    const client_id = `crash-${randomUUID()}`;
    // max_retries 0: each task is dead-lettered at once, without an attempt (the URL is never called).
    const tasks = Array.from({ length: TASKS }, () =>
      httpTask('http://127.0.0.1:9', { client_id, max_retries: 0, id: `crash-${randomUUID()}` }),
    );
    const batch = await fetch(`${h.api.url}/tasks/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tasks }),
    });
    expect(((await batch.json()) as { started: number }).started).toBe(TASKS);
    const dryRun = () =>
      fetch(`${h.api.url}/dead-letters/requeue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filter: { client_id }, dry_run: true, limit: TASKS }),
      }).then(async (r) => ((await r.json()) as { count: number }).count);
    // 1,000 workflows dead-letter at the machine's pace: wait while their count grows.
    expect(await whileProgressing(dryRun, (count) => count === TASKS)).toBe(TASKS);

    // The requeued tasks wait an hour before their next attempt, so each stays in its first requeued run.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const started = await fetch(`${h.api.url}/dead-letters/requeue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filter: { client_id }, limit: TASKS, overrides: { deliver_at: later, max_retries: 1 } }),
    });
    expect(started.status).toBe(202);
    const { job_id } = (await started.json()) as { job_id: string };

    // Kill the worker once two batches are recorded and before the last one: the batch in flight at the kill is
    // retried by the next worker from its last heartbeat.
    let doneAtKill = 0;
    await eventually(
      async () => {
        const { body } = await getJob(job_id);
        expect(body.state).toBe('running');
        expect(body.done).toBeGreaterThanOrEqual(200);
        doneAtKill = body.done;
      },
      120_000,
      100,
    );
    await kill9(worker);
    expect(doneAtKill).toBeLessThan(TASKS);
    // No worker now: the job's status comes from its description (memo and the batch's heartbeat), never a 500.
    const whileDown = await getJob(job_id);
    expect(whileDown.status).toBe(200);
    expect(whileDown.body.state).toBe('running');
    expect(whileDown.body.done).toBeGreaterThanOrEqual(doneAtKill);

    worker = startWorker();
    await workerPolling();
    const job = await whileProgressing(
      async () => {
        const { status, body } = await getJob(job_id);
        expect(status).toBe(200);
        return body;
      },
      (body) => body.state !== 'running',
    );
    expect(job.state).toBe('completed');
    expect(job).toMatchObject({ total: TASKS, done: TASKS, skipped: 0, failed: 0 });

    // Each requeue continues the task as new with its status in the memo: one listing reads every task's count.
    // Visibility lags the last continue-as-new by about a second.
    await eventually(
      async () => {
        const requeues = new Map<string, number | undefined>();
        for await (const run of h.client.workflow.list({
          query: `ClientId = "${client_id}" AND ExecutionStatus = "Running"`,
        })) {
          requeues.set(run.workflowId, (run.memo?.[StatusMemoKey] as TaskStatus | undefined)?.requeues);
        }
        expect(requeues.size).toBe(TASKS);
        expect([...requeues.values()].filter((n) => n !== 1)).toEqual([]);
      },
      60_000,
      1000,
    );
  }, 900_000);
});
