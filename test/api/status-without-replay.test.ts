import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery } from '../../domain/messages';
import { eventually, httpTask, startHarness, startReceiver, type Harness } from './harness';

/**
 * Lean tasks (domain/visibility.ts): a task delivered at its first try writes no search attribute and no memo from
 * its workflow; GET /tasks/{id} reads resting tasks from the status memo, without a query, so it answers with no
 * worker running; list filters still find succeeded tasks.
 */
let withWorker: Harness;
let withoutWorker: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
  withWorker = await startHarness({ worker: true });
  // Same dev server, a task queue no worker polls: only the server can answer.
  withoutWorker = await startHarness();
});
afterAll(async () => {
  await withWorker?.stop();
  await withoutWorker?.stop();
  await receiver?.close();
});

const eventTypes = async (h: Harness, id: string) =>
  ((await h.client.workflow.getHandle(id).fetchHistory()).events ?? []).map((e) => String(e.eventType));

describe('status without a replay', () => {
  it('a task delivered at its first try records the same 11 events as a plain workflow with one activity, and is listed as succeeded', async () => {
    const client_id = `lean-${randomUUID()}`;
    const task = httpTask(receiver.url, { base_delay: 0, client_id });
    expect((await request(withWorker.api.app).post('/tasks').send(task)).status).toBe(201);
    const done = await withWorker.client.workflow.getHandle(task.id).result();
    expect(done).toMatchObject({ state: 'succeeded', attempt: 1 });

    const events = await eventTypes(withWorker, task.id);
    expect(events).toHaveLength(11);
    expect(events.filter((t) => /UPSERT|PROPERTIES_MODIFIED|MARKER/.test(t))).toEqual([]);

    const got = await request(withWorker.api.app).get(`/tasks/${task.id}`);
    expect(got.body).toMatchObject({ state: 'succeeded', attempt: 1, workflow: { status: 'COMPLETED' } });
    await eventually(async () => {
      const listed = await request(withWorker.api.app).get('/tasks').query({ client_id, status: 'succeeded' });
      expect(listed.body.items).toMatchObject([{ task_id: task.id, state: 'succeeded' }]);
      const open = await request(withWorker.api.app).get('/tasks').query({ client_id, status: 'delivering' });
      expect(open.body.items).toEqual([]);
    });
  });

  it('answers GET /tasks/{id} for a scheduled task while no worker runs, from what the server holds', async () => {
    const task = httpTask(receiver.url, { base_delay: 3600 });
    const before = Date.now();
    expect((await request(withoutWorker.api.app).post('/tasks').send(task)).status).toBe(201);
    const got = await request(withoutWorker.api.app).get(`/tasks/${task.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      task_id: task.id,
      state: 'scheduled',
      attempt: 0,
      max_attempts: 3,
      requeues: 0,
      attempts: [],
      workflow: { status: 'RUNNING' },
    });
    const next = Date.parse(got.body.next_attempt_at);
    expect(next).toBeGreaterThanOrEqual(before + 3600_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 3600_000);
    await withoutWorker.client.workflow.getHandle(task.id).terminate('test over');
  });

  it('reads a parked task from its memo exactly as the workflow reports it', async () => {
    const task = httpTask(receiver.url, {
      max_retries: 1,
      base_delay: 0,
      destination: { url: 'http://127.0.0.1:9/refused' },
    });
    expect((await request(withWorker.api.app).post('/tasks').send(task)).status).toBe(201);
    const handle = withWorker.client.workflow.getHandle(task.id);
    const queried = await eventually(async () => {
      const s = await handle.query(statusQuery);
      expect(s.state).toBe('dead_lettered');
      return s;
    }, 60_000);
    const got = await request(withWorker.api.app).get(`/tasks/${task.id}`);
    const { workflow, ...fromMemo } = got.body;
    expect(workflow.status).toBe('RUNNING');
    expect(fromMemo).toEqual(JSON.parse(JSON.stringify(queried)));
    await handle.terminate('test over');
  });
});
