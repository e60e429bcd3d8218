import { randomUUID } from 'node:crypto';
import { conformingRequest as request } from './conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, httpTask, startHarness, startReceiver, type Harness } from './harness';

/** The task lifecycle through the API against the dev server and a worker polling the API's task queue. */
let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
  h = await startHarness({ worker: true, env: { BULK_REQUEUE_PER_SECOND: '2' } });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

const api = () => request(h.api.app);
const statusOf = async (id: string) =>
  (await api().get(`/tasks/${id}`)).body as { state: string; [k: string]: unknown };
/** Submits and waits until the workflow reports `state`. */
async function submitUntil(body: object, state: string) {
  const res = await api().post('/tasks').send(body);
  expect(res.status).toBe(201);
  const id = (body as { id: string }).id;
  await eventually(async () => expect((await statusOf(id)).state).toBe(state));
  return res.body as { task_id: string; run_id: string };
}

describe('POST /tasks with seed 002 bodies verbatim', () => {
  it('schedules the Kafka example and answers 201 with the seed message, run id and status URL', async () => {
    const id = `task-12345-${randomUUID()}`;
    // Seed 002's Kafka example, verbatim except the id (each test run needs its own).
    const body = `{
  "id": "${id}",
  "source": "order-service",
  "destination": {
    "host": "localhost",
    "port": "9092",
    "topic": "user-events"
  },
  "dead_destination": {
    "host": "localhost",
    "port": "9092",
    "topic": "user-events-dlq"
  },
  "max_retries": 5,
  "base_delay": 10,
  "client_id": "client-001",
  "is_priority": false,
  "message_data": "{\\"user_id\\": 123, \\"action\\": \\"send_email\\"}",
  "destination_type": "kafka"
}`;
    const res = await api().post('/tasks').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message: `Task ${id} scheduled successfully`,
      task_id: id,
      run_id: expect.any(String),
      status_url: expect.stringMatching(new RegExp(`/tasks/${id}$`)),
    });
    const status = await api().get(new URL(res.body.status_url).pathname);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ task_id: id, destination_type: 'kafka', max_attempts: 5 });
    expect(status.body.workflow).toMatchObject({ run_id: res.body.run_id, status: 'RUNNING' });
  });

  it('schedules the HTTP example (is_priority present) and one without is_priority', async () => {
    for (const withPriority of [true, false]) {
      const id = `webhook-task-789-${randomUUID()}`;
      const body = {
        id,
        source: 'notification-service',
        destination: { url: 'https://api.partner.com/webhooks/events' },
        dead_destination: { url: 'https://api.partner.com/webhooks/dlq' },
        max_retries: 5,
        base_delay: 10,
        client_id: 'partner-001',
        ...(withPriority ? { is_priority: false } : {}),
        message_data: '{"event": "user.created", "user_id": 789}',
        destination_type: 'http',
      };
      const res = await api().post('/tasks').send(body);
      expect(res.status).toBe(201);
      expect(res.body.message).toBe(`Task ${id} scheduled successfully`);
      expect(res.headers.location).toBe(`/tasks/${id}`);
    }
  });
});

describe('idempotency: task id = workflow id', () => {
  it('answers 409 with the current status when the id is still running', async () => {
    const task = httpTask(receiver.url);
    await submitUntil(task, 'scheduled');
    const res = await api().post('/tasks').send(task);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      error: `task ${task.id} already exists and is still open`,
      field: 'id',
      state: 'scheduled',
      status: { task_id: task.id, state: 'scheduled' },
    });
  });

  it('answers 409 while the id is parked as a dead letter', async () => {
    const task = httpTask(receiver.url, { max_retries: 0 });
    await submitUntil(task, 'dead_lettered');
    const res = await api().post('/tasks').send(task);
    expect(res.status).toBe(409);
    expect(res.body.state).toBe('dead_lettered');
  });

  it('starts a new run when the id is used again after the task completed (reuse policy ALLOW_DUPLICATE)', async () => {
    const task = httpTask(receiver.url, { base_delay: 0 });
    const first = await submitUntil(task, 'succeeded');
    expect(receiver.received.some((r) => r.body === task.message_data)).toBe(true);
    const completed = await api().get(`/tasks/${task.id}`);
    expect(completed.body).toMatchObject({ state: 'succeeded', attempt: 1, workflow: { status: 'COMPLETED' } });

    const again = await api()
      .post('/tasks')
      .send({ ...task, base_delay: 3600 });
    expect(again.status).toBe(201);
    expect(again.body.run_id).not.toBe(first.run_id);
    await eventually(async () => expect((await statusOf(task.id)).state).toBe('scheduled'));
  });

  it('starts a new run after DELETE terminated the task', async () => {
    const task = httpTask(receiver.url);
    const first = await submitUntil(task, 'scheduled');
    expect((await api().delete(`/tasks/${task.id}`)).status).toBe(200);
    const again = await api().post('/tasks').send(task);
    expect(again.status).toBe(201);
    expect(again.body.run_id).not.toBe(first.run_id);
  });
});

describe('GET /tasks/:id', () => {
  it('answers 404 for an unknown task', async () => {
    const res = await api().get('/tasks/no-such-task');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'task no-such-task not found', task_id: 'no-such-task' });
  });
});

describe('transitions through the workflow updates', () => {
  it('cancels a waiting task, then answers 409 for a second cancel of the closed task', async () => {
    const task = httpTask(receiver.url);
    await submitUntil(task, 'scheduled');
    const res = await api().post(`/tasks/${task.id}/cancel`).send({ reason: 'no longer needed' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ task_id: task.id, previous_state: 'scheduled', state: 'cancelled' });
    await eventually(async () => {
      const status = await api().get(`/tasks/${task.id}`);
      expect(status.body).toMatchObject({ state: 'cancelled', workflow: { status: 'COMPLETED' } });
      expect(status.body.details).toMatch(/no longer needed/);
    });
    const again = await api().post(`/tasks/${task.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/closed/);
  });

  it('retry-now makes the attempt at once; on a parked task it answers 409 with the reason and state', async () => {
    const task = httpTask(receiver.url);
    await submitUntil(task, 'scheduled');
    const res = await api().post(`/tasks/${task.id}/retry-now`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ previous_state: 'scheduled', state: 'delivering' });
    await eventually(async () => expect((await statusOf(task.id)).state).toBe('succeeded'));

    const parked = httpTask(receiver.url, { max_retries: 0 });
    await submitUntil(parked, 'dead_lettered');
    const refused = await api().post(`/tasks/${parked.id}/retry-now`);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      error: 'retry-now only applies while a task waits; it is dead_lettered',
      task_id: parked.id,
      state: 'dead_lettered',
    });
  });

  it('requeues a parked task with overrides; a bad override answers 400 naming the field', async () => {
    const task = httpTask(receiver.url, { max_retries: 0 });
    await submitUntil(task, 'dead_lettered');
    const bad = await api()
      .post(`/tasks/${task.id}/requeue`)
      .send({ overrides: { max_retries: -2 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: 'overrides.max_retries', error: 'max_retries cannot be negative' });

    const res = await api()
      .post(`/tasks/${task.id}/requeue`)
      .send({ overrides: { max_retries: 2, delay_tier: '1h' }, reason: 'receiver fixed' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ previous_state: 'dead_lettered', state: 'scheduled' });
    await eventually(async () => {
      const s = await statusOf(task.id);
      expect(s).toMatchObject({ state: 'scheduled', requeues: 1, max_attempts: 2 });
    });
  });

  it('answers 404 for transitions of an unknown task', async () => {
    for (const path of ['cancel', 'requeue', 'retry-now']) {
      const res = await api().post(`/tasks/missing-${randomUUID()}/${path}`);
      expect(res.status).toBe(404);
    }
  });
});

describe('DELETE /tasks/:id', () => {
  it('terminates the task for good and says so; the status then reads terminated', async () => {
    const task = httpTask(receiver.url);
    const { run_id } = await submitUntil(task, 'scheduled');
    const res = await api().delete(`/tasks/${task.id}`).send({ reason: 'bad data' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: `Task ${task.id} terminated`, task_id: task.id, run_id });
    const status = await api().get(`/tasks/${task.id}`);
    expect(status.body).toMatchObject({ state: 'terminated', workflow: { status: 'TERMINATED' } });
    const again = await api().delete(`/tasks/${task.id}`);
    expect(again.status).toBe(409);
    expect((await api().delete(`/tasks/missing-${randomUUID()}`)).status).toBe(404);
  });
});

describe('GET /tasks (visibility)', () => {
  it('pages through a list larger than one page and filters by status', async () => {
    const client_id = `pager-${randomUUID()}`;
    const waiting = Array.from({ length: 5 }, () => httpTask(receiver.url, { client_id }));
    const parked = Array.from({ length: 2 }, () => httpTask(receiver.url, { client_id, max_retries: 0 }));
    for (const t of [...waiting, ...parked]) expect((await api().post('/tasks').send(t)).status).toBe(201);

    const all = await eventually(async () => {
      const ids: string[] = [];
      let token: string | null = null;
      let pages = 0;
      do {
        const res = await api()
          .get('/tasks')
          .query({ client_id, page_size: 3, ...(token ? { page_token: token } : {}) });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        ids.push(...res.body.items.map((i: { task_id: string }) => i.task_id));
        token = res.body.next_page_token;
        pages++;
      } while (token);
      expect(ids.sort()).toEqual([...waiting, ...parked].map((t) => t.id).sort());
      return { pages };
    });
    expect(all.pages).toBeGreaterThanOrEqual(3);

    await eventually(async () => {
      const res = await api().get('/tasks').query({ client_id, status: 'dead_lettered' });
      expect(res.body.items.map((i: { task_id: string }) => i.task_id).sort()).toEqual(parked.map((t) => t.id).sort());
      expect(res.body.items[0]).toMatchObject({ state: 'dead_lettered', client_id, destination_type: 'http' });
    });
    const res = await api().get('/tasks').query({ client_id, status: 'scheduled,waiting_retry', source: 'api-test' });
    expect(res.body.items.map((i: { task_id: string }) => i.task_id).sort()).toEqual(waiting.map((t) => t.id).sort());
  });

  it('answers 400 for a page_token it did not issue', async () => {
    const res = await api().get('/tasks').query({ page_token: 'bm90LWEtdG9rZW4' });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('page_token');
  });
});

describe('dead letters', () => {
  it('lists parked tasks, counts with dry_run, and requeues by ids at the configured pace', async () => {
    const client_id = `dlq-${randomUUID()}`;
    const parked = Array.from({ length: 3 }, () => httpTask(receiver.url, { client_id, max_retries: 0 }));
    const waiting = httpTask(receiver.url, { client_id });
    for (const t of parked) await submitUntil(t, 'dead_lettered');
    await submitUntil(waiting, 'scheduled');

    await eventually(async () => {
      const res = await api().get('/dead-letters').query({ client_id });
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: { task_id: string }) => i.task_id).sort()).toEqual(parked.map((t) => t.id).sort());
    });

    const byFilter = await api().post('/dead-letters/requeue').send({ filter: { client_id }, dry_run: true });
    expect(byFilter.body).toEqual({ dry_run: true, count: 3, sample: expect.any(Array) });
    expect([...byFilter.body.sample].sort()).toEqual(parked.map((t) => t.id).sort());

    const ids = [...parked.map((t) => t.id), waiting.id];
    const dry = await api().post('/dead-letters/requeue').send({ ids, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({
      dry_run: true,
      count: 3,
      sample: parked.map((t) => t.id),
      skipped: [{ id: waiting.id, reason: 'task is not dead-lettered', state: 'scheduled' }],
    });
    // Nothing changed.
    for (const t of parked) expect((await statusOf(t.id)).state).toBe('dead_lettered');

    const res = await api()
      .post('/dead-letters/requeue')
      .send({ ids, overrides: { max_retries: 1, base_delay: 3600 }, reason: 'bulk test' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ job_id: expect.stringMatching(/^job-/), status_url: expect.any(String) });
    expect(res.headers.location).toBe(`/jobs/${res.body.job_id}`);
    const job = await jobUntilOver(new URL(res.body.status_url).pathname);
    expect(job).toMatchObject({
      job_id: res.body.job_id,
      kind: 'requeue',
      state: 'completed',
      total: 4,
      done: 3,
      skipped: 1,
      failed: 0,
      skipped_reasons: { 'task is not dead-lettered; it is scheduled': 1 },
      skipped_sample: [{ id: waiting.id, reason: 'task is not dead-lettered; it is scheduled' }],
    });
    // BULK_REQUEUE_PER_SECOND=2: the fourth task waits for its slot at 1.5 s.
    expect(Date.parse(job.finished_at) - Date.parse(job.started_at)).toBeGreaterThanOrEqual(1400);
    expect(job.rate).toBeGreaterThan(0);
    for (const t of parked) {
      await eventually(async () => expect(await statusOf(t.id)).toMatchObject({ state: 'succeeded', requeues: 1 }));
    }
    expect(await statusOf(waiting.id)).toMatchObject({ state: 'scheduled', requeues: 0 });
  });

  it('requeues by filter', async () => {
    const client_id = `dlq-filter-${randomUUID()}`;
    const parked = Array.from({ length: 2 }, () => httpTask(receiver.url, { client_id, max_retries: 0 }));
    for (const t of parked) await submitUntil(t, 'dead_lettered');
    await eventually(async () => {
      const res = await api().post('/dead-letters/requeue').send({ filter: { client_id }, dry_run: true });
      expect(res.body.count).toBe(2);
    });
    const res = await api()
      .post('/dead-letters/requeue')
      .send({ filter: { client_id, destination_type: 'http' }, overrides: { max_retries: 1, base_delay: 3600 } });
    expect(res.status).toBe(202);
    const job = await jobUntilOver(`/jobs/${res.body.job_id}`);
    expect(job).toMatchObject({ state: 'completed', total: 2, done: 2, skipped: 0, failed: 0 });
    for (const t of parked) await eventually(async () => expect((await statusOf(t.id)).state).toBe('succeeded'));
  });
});

/** Reads a job until it is no longer running. */
async function jobUntilOver(path: string) {
  let job: { state: string; [k: string]: unknown } = { state: 'running' };
  await eventually(async () => {
    const res = await api().get(path);
    expect(res.status).toBe(200);
    job = res.body;
    expect(job.state).not.toBe('running');
  });
  return job as { state: string; started_at: string; finished_at: string; rate: number; [k: string]: unknown };
}

describe('POST /tasks/batch', () => {
  it('rejects the whole batch when one item is invalid and starts none', async () => {
    const good = [httpTask(receiver.url), httpTask(receiver.url)];
    const res = await api()
      .post('/tasks/batch')
      .send({ tasks: [good[0], { ...httpTask(receiver.url), base_delay: 'soon' }, good[1]] });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('tasks.1.base_delay');
    expect(res.body.items).toEqual([
      expect.objectContaining({
        index: 1,
        errors: [{ field: 'base_delay', error: 'base_delay must be a number of seconds' }],
      }),
    ]);
    for (const t of good) expect((await api().get(`/tasks/${t.id}`)).status).toBe(404);
  });

  it('rejects a batch that uses one id twice', async () => {
    const t = httpTask(receiver.url);
    const res = await api()
      .post('/tasks/batch')
      .send({ tasks: [t, t] });
    expect(res.status).toBe(400);
    expect(res.body.items[0]).toMatchObject({ index: 1, id: t.id });
  });

  it('starts every task of a valid batch and reports each; an id already open is that item’s 409', async () => {
    const open = httpTask(receiver.url);
    await submitUntil(open, 'scheduled');
    const fresh = Array.from({ length: 25 }, () => httpTask(receiver.url));
    const res = await api()
      .post('/tasks/batch')
      .send({ tasks: [...fresh, open] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 26, started: 25, failed: 1 });
    expect(res.body.results[25]).toMatchObject({ index: 25, id: open.id, status: 409 });
    for (const [i, t] of fresh.entries()) {
      expect(res.body.results[i]).toMatchObject({ index: i, id: t.id, status: 201, run_id: expect.any(String) });
    }
    await eventually(async () => expect((await statusOf(fresh[24]!.id)).state).toBe('scheduled'));
  });
});

describe('GET /health', () => {
  it('answers 200 with Temporal reachable and a worker polling the task queue', async () => {
    const res = await eventually(async () => {
      const r = await api().get('/health');
      expect(r.status).toBe(200);
      return r;
    });
    expect(res.body).toEqual({
      status: 'ok',
      checks: {
        temporal: { ok: true, detail: 'namespace default' },
        workers: { ok: true, detail: expect.stringContaining(h.config.TASK_QUEUE) },
      },
    });
  });
});

describe('GET /tasks/:id caching', () => {
  it('answers GET /tasks/:id with an ETag and 304 when If-None-Match still matches', async () => {
    const task = httpTask(receiver.url);
    expect((await api().post('/tasks').send(task)).status).toBe(201);
    const first = await api().get(`/tasks/${task.id}`);
    expect(first.status).toBe(200);
    expect(first.headers.etag).toMatch(/^W\/".+"$/);
    const again = await api().get(`/tasks/${task.id}`).set('If-None-Match', first.headers.etag!);
    expect(again.status).toBe(304);
  });
});
