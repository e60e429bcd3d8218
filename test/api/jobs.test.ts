import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobKind, JobMemoKey, JobWorkflowType, startingProgress } from '../../domain/jobs';
import { requeueAppliedQuery, requeueUpdate } from '../../domain/messages';
import type { bulkJob } from '../../workflows/bulk-job';
import { conformingRequest as request } from './conformance';
import { eventually, httpTask, startHarness, startReceiver, type Harness } from './harness';

/** Bulk jobs through the API against the dev server, with a worker polling the API's task queue. */
let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
  // One task per second: a job of 7 tasks runs in batches of 5, long enough to be cancelled between them.
  h = await startHarness({ worker: true, env: { BULK_REQUEUE_PER_SECOND: '1' } });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

const api = () => request(h.api.app);
const statusOf = async (id: string) =>
  (await api().get(`/tasks/${id}`)).body as { state: string; requeues: number; [k: string]: unknown };
async function parkedTasks(n: number, client_id: string) {
  const tasks = Array.from({ length: n }, () => httpTask(receiver.url, { client_id, max_retries: 0 }));
  const res = await api().post('/tasks/batch').send({ tasks });
  expect(res.body.started).toBe(n);
  for (const t of tasks) await eventually(async () => expect((await statusOf(t.id)).state).toBe('dead_lettered'));
  return tasks.map((t) => t.id);
}
async function jobUntilOver(jobId: string, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const res = await api().get(`/jobs/${jobId}`);
      expect(res.status).toBe(200);
      expect(res.body.state).not.toBe('running');
      return res.body as Record<string, unknown> & { state: string; done: number };
    },
    timeoutMs,
    500,
  );
}

describe('requeue idempotence', () => {
  it('applies a requeue once per request id: the same request again answers already_applied and changes nothing', async () => {
    const [id] = await parkedTasks(1, `idem-${randomUUID()}`);
    const handle = h.client.workflow.getHandle(id!);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const req = { request_id: 'job:test-1', only_parked: true, overrides: { deliver_at: later, max_retries: 1 } };
    const first = await handle.executeUpdate(requeueUpdate, { args: [req] });
    expect(first).toEqual({ previous_state: 'dead_lettered', state: 'scheduled' });
    // The first requeue continued the task as new; the second reaches the new run, which remembers the id.
    await eventually(async () => expect(await statusOf(id!)).toMatchObject({ requeues: 1, state: 'scheduled' }));
    const again = await handle.executeUpdate(requeueUpdate, { args: [req] });
    expect(again).toMatchObject({ already_applied: true, state: 'scheduled' });
    expect(await statusOf(id!)).toMatchObject({ requeues: 1, state: 'scheduled' });
    // What a job asks when a repeat is refused: did this task apply that request id?
    expect(await handle.query(requeueAppliedQuery, 'job:test-1')).toBe(true);
    expect(await handle.query(requeueAppliedQuery, 'job:test-2')).toBe(false);
    // A different request id is a new requeue, which only_parked refuses for a task that is not parked.
    await expect(
      handle.executeUpdate(requeueUpdate, { args: [{ ...req, request_id: 'job:test-2' }] }),
    ).rejects.toThrow();
  });
});

describe('bulk filters: time range of the dead-lettering and ordering key', () => {
  const dryRun = async (filter: Record<string, unknown>) => {
    const res = await api().post('/dead-letters/requeue').send({ filter, dry_run: true });
    expect(res.status).toBe(200);
    return res.body as { count: number; sample: string[] };
  };

  it('counts and requeues the dead letters of a time range or of an ordering key', async () => {
    const client_id = `range-${randomUUID()}`;
    const before = new Date(Date.now() - 1000).toISOString();
    const early = await parkedTasks(2, client_id);
    const between = new Date().toISOString();
    const ordering_key = `range-key-${randomUUID()}`;
    const keyed = Array.from({ length: 2 }, () => httpTask(receiver.url, { client_id, ordering_key, max_retries: 0 }));
    expect((await api().post('/tasks/batch').send({ tasks: keyed })).body.started).toBe(2);
    for (const t of keyed) {
      await eventually(async () => expect((await statusOf(t.id)).state).toBe('dead_lettered'), 30_000);
    }
    const late = keyed.map((t) => t.id);

    // Visibility follows within about a second.
    await eventually(async () => {
      const range = await dryRun({ client_id, dead_lettered_before: between });
      expect(range.count).toBe(2);
      expect(range.sample.sort()).toEqual([...early].sort());
      expect((await dryRun({ client_id, dead_lettered_after: between })).sample.sort()).toEqual([...late].sort());
      expect((await dryRun({ client_id, ordering_key })).sample.sort()).toEqual([...late].sort());
      expect((await dryRun({ client_id, dead_lettered_after: before })).count).toBe(4);
      expect((await dryRun({ client_id, dead_lettered_after: before, dead_lettered_before: between })).count).toBe(2);
    });

    const res = await api()
      .post('/dead-letters/requeue')
      .send({ filter: { client_id, dead_lettered_before: between }, overrides: { base_delay: 3600, max_retries: 1 } });
    expect(res.status).toBe(202);
    const job = await jobUntilOver(res.body.job_id);
    expect(job).toMatchObject({ state: 'completed', total: 2, done: 2, skipped: 0, failed: 0 });
    for (const id of early) expect((await statusOf(id)).requeues).toBe(1);
    for (const id of late) expect(await statusOf(id)).toMatchObject({ state: 'dead_lettered', requeues: 0 });

    // The same filters in a bulk cancel: the ordering key's dead letters are open tasks it can cancel.
    const cancel = await api().post('/tasks/cancel').send({ filter: { client_id, ordering_key }, dry_run: true });
    expect(cancel.body).toMatchObject({ dry_run: true, count: 2 });
  });

  it('answers 400 naming the field for a range that ends before it starts or a time that is not RFC 3339', async () => {
    const reversed = await api()
      .post('/dead-letters/requeue')
      .send({ filter: { dead_lettered_after: '2026-12-01T10:00:00Z', dead_lettered_before: '2026-12-01T09:00:00Z' } });
    expect(reversed.status).toBe(400);
    expect(reversed.body).toMatchObject({
      field: 'filter.dead_lettered_before',
      error: 'dead_lettered_before must be later than dead_lettered_after',
    });
    const bad = await api()
      .post('/tasks/cancel')
      .send({ filter: { dead_lettered_after: 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('filter.dead_lettered_after');
    expect(bad.body.error).toMatch(/RFC 3339/);
    const sameInstant = await api()
      .post('/tasks/cancel')
      .send({
        filter: { dead_lettered_after: '2026-12-01T10:00:00Z', dead_lettered_before: '2026-12-01T11:00:00+01:00' },
      });
    expect(sameInstant.status).toBe(400);
    expect(sameInstant.body.field).toBe('filter.dead_lettered_before');
  });
});

describe('POST /tasks/cancel', () => {
  it('counts with dry_run, then cancels the open tasks of a filter as a job', async () => {
    const client_id = `cancel-${randomUUID()}`;
    const waiting = Array.from({ length: 3 }, () => httpTask(receiver.url, { client_id }));
    expect((await api().post('/tasks/batch').send({ tasks: waiting })).body.started).toBe(3);
    await eventually(async () => {
      const dry = await api().post('/tasks/cancel').send({ filter: { client_id }, dry_run: true });
      expect(dry.status).toBe(200);
      expect(dry.body).toMatchObject({ dry_run: true, count: 3 });
    });
    const res = await api().post('/tasks/cancel').send({ filter: { client_id }, reason: 'stop them' });
    expect(res.status).toBe(202);
    const job = await jobUntilOver(res.body.job_id);
    expect(job).toMatchObject({ kind: 'cancel', state: 'completed', total: 3, done: 3, skipped: 0, failed: 0 });
    for (const t of waiting) expect((await statusOf(t.id)).state).toBe('cancelled');
  });

  it('answers 400 naming the field for a final state in the filter', async () => {
    const res = await api()
      .post('/tasks/cancel')
      .send({ filter: { status: ['succeeded'] } });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('filter.status.0');
  });
});

describe('jobs', () => {
  it('stops a job cancelled mid-way after its current batch and lists it with its final counts', async () => {
    const ids = await parkedTasks(7, `jobcancel-${randomUUID()}`);
    const res = await api()
      .post('/dead-letters/requeue')
      .send({ ids, overrides: { base_delay: 3600, max_retries: 1 } });
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    await eventually(async () => expect((await api().get(`/jobs/${jobId}`)).body.total).toBe(7));
    const cancel = await api().post(`/jobs/${jobId}/cancel`).send({ reason: 'enough' });
    expect(cancel.status).toBe(200);
    const job = await jobUntilOver(jobId);
    // The batch in flight (5 tasks at 1/s) finishes; no batch starts after the cancel. The cancel comes during the
    // first batch unless the machine is very slow, and then during the second (and last) one.
    expect(job).toMatchObject({ state: 'cancelled', total: 7, skipped: 0, failed: 0 });
    expect([5, 7]).toContain(job.done);
    const requeued = await Promise.all(ids.map(async (id) => (await statusOf(id)).requeues));
    expect(requeued.filter((n) => n === 1)).toHaveLength(job.done);
    expect(requeued.filter((n) => n === 0)).toHaveLength(7 - job.done);

    const again = await api().post(`/jobs/${jobId}/cancel`).send({});
    expect(again.status).toBe(409);
    await eventually(async () => {
      const list = await api().get('/jobs').query({ page_size: 10 });
      expect(list.status).toBe(200);
      expect(list.body.items).toContainEqual(
        expect.objectContaining({ job_id: jobId, state: 'cancelled', done: job.done }),
      );
    });
  });

  it('answers GET /jobs/{id} with the progress so far while no worker runs, and the job goes on with a new one', async () => {
    // 20 tasks at 1/s: the job is still running when the worker stops after its first tasks.
    const ids = await parkedTasks(20, `jobnoworker-${randomUUID()}`);
    const res = await api()
      .post('/dead-letters/requeue')
      .send({ ids, overrides: { base_delay: 3600, max_retries: 1 } });
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    // Once the first batch (5 tasks at 1/s) is recorded in the job's memo. (A running batch's share comes from its
    // heartbeat, which a graceful worker stop may drop; a kill -9 keeps it: test/jobs/job-crash.test.ts.)
    await eventually(async () => expect((await api().get(`/jobs/${jobId}`)).body.done).toBeGreaterThanOrEqual(5));
    await h.stopWorker();
    try {
      const requeued = (await Promise.all(ids.map(statusOf))).filter((s) => s.requeues === 1).length;
      const job = await api().get(`/jobs/${jobId}`);
      expect(job.status).toBe(200);
      expect(job.body).toMatchObject({ job_id: jobId, state: 'running', total: 20, failed: 0 });
      // As of the last batch or heartbeat (heartbeats are throttled): never more than were requeued.
      expect(job.body.done).toBeGreaterThanOrEqual(5);
      expect(job.body.done).toBeLessThanOrEqual(requeued);
      const list = await api().get('/jobs').query({ page_size: 50 });
      expect(list.body.items).toContainEqual(expect.objectContaining({ job_id: jobId, state: 'running', total: 20 }));
    } finally {
      await h.startWorker();
    }
    // The new worker goes on from the last heartbeat; stopped by a cancel, the job's count is exactly what it did.
    expect((await api().post(`/jobs/${jobId}/cancel`).send({ reason: 'enough' })).status).toBe(200);
    const job = await jobUntilOver(jobId);
    expect(job).toMatchObject({ state: 'cancelled', total: 20, skipped: 0, failed: 0 });
    const requeued = (await Promise.all(ids.map(statusOf))).filter((s) => s.requeues === 1).length;
    expect(job.done).toBe(requeued);
  });

  it('continues as new between batches and completes with the counts of all its runs', async () => {
    // Found by the 100k bench: a job took its own continue-as-new for an error and ended `failed`.
    const ids = await parkedTasks(5, `jobcan-${randomUUID()}`);
    const jobId = `job-${randomUUID()}`;
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const spec = {
      kind: JobKind.Requeue,
      target: { type: 'ids' as const, ids },
      task_queue: h.config.TASK_QUEUE,
      per_second: 50,
      batch_size: 1,
      overrides: { deliver_at: later, max_retries: 1 },
    };
    const handle = await h.client.workflow.start<typeof bulkJob>(JobWorkflowType, {
      taskQueue: h.config.TASK_QUEUE,
      workflowId: jobId,
      args: [{ spec, batches_per_run: 2 }],
      memo: { [JobMemoKey]: startingProgress(jobId, spec.kind, new Date().toISOString()) },
    });
    const job = await jobUntilOver(jobId);
    expect(job).toMatchObject({ state: 'completed', total: 5, done: 5, skipped: 0, failed: 0 });
    expect((await h.client.workflow.getHandle(jobId).describe()).runId).not.toBe(handle.firstExecutionRunId);
    const requeued = await Promise.all(ids.map(async (id) => (await statusOf(id)).requeues));
    expect(requeued).toEqual([1, 1, 1, 1, 1]);
  });

  it('answers 404 for an unknown job and 400 for something that is not a job id', async () => {
    const unknown = await api().get(`/jobs/job-${randomUUID()}`);
    expect(unknown.status).toBe(404);
    const bad = await api().get('/jobs/not-a-job');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('id');
  });
});
