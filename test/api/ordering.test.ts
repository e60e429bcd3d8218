import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSignal, orderingWorkflowId } from '../../domain/ordering';
import { HttpReceiver } from '../support/http-receiver';
import { conformingRequest as request } from './conformance';
import { eventually, httpTask, startHarness, type Harness } from './harness';

/** Ordered delivery through the API, against the dev server, a worker and a real HTTP receiver. */
let h: Harness;
let receiver: HttpReceiver;
const keys: string[] = [];
beforeAll(async () => {
  receiver = await HttpReceiver.start();
  h = await startHarness({ worker: true });
});
afterAll(async () => {
  for (const key of keys) {
    await h?.client.workflow
      .getHandle(orderingWorkflowId(key))
      .terminate('test over')
      .catch(() => undefined);
  }
  await h?.stop();
  await receiver?.stop();
});

const api = () => request(h.api.app);
/** The sequence numbers a route received, in arrival order. */
const arrived = (path: string) => receiver.requests(path).map((r) => (JSON.parse(r.body) as { seq: number }).seq);

describe('ordered delivery per key through the API', () => {
  it('delivers 3 keys × 50 tasks in order per key; a failing head holds only its own key', async () => {
    const run = randomUUID().slice(0, 8);
    const perKey = 50;
    const key = (k: number) => `acct-${run}-${k}`;
    keys.push(key(0), key(1), key(2));
    // Key 0's head keeps failing (attempts 1, 3, 7, 15, 31 … s after submission) until the test lets it succeed;
    // everything else succeeds at once.
    const headPath = `/${run}/k0-head`;
    const headUrl = receiver.route(headPath, { mode: 'status', status: 503 });
    const path = (k: number) => `/${run}/k${k}`;
    const urls = [0, 1, 2].map((k) => receiver.route(path(k), { mode: 'succeed' }));
    const ids: string[][] = [[], [], []];
    for (let seq = 0; seq < perKey; seq++) {
      for (let k = 0; k < 3; k++) {
        const head = k === 0 && seq === 0;
        const body = httpTask(receiver.origin, {
          id: `ord-${run}-${k}-${seq}`,
          ordering_key: key(k),
          destination: { url: head ? headUrl : urls[k]! },
          base_delay: head ? 1 : 0,
          max_retries: head ? 12 : 3,
          message_data: JSON.stringify({ seq }),
        });
        const res = await api().post('/tasks').send(body);
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        ids[k]!.push(body.id);
        if (k === 0 && seq === 1) {
          const second = (await api().get(`/tasks/${body.id}`)).body as Record<string, unknown>;
          expect(second).toMatchObject({ state: 'blocked', ordering_key: key(0), position: 2, blocked_by: ids[0]![0] });
        }
      }
    }
    // Keys 1 and 2 are delivered completely while key 0's head fails (at least 3 times) and holds key 0.
    await eventually(
      async () => {
        expect(receiver.requests(headPath).length).toBeGreaterThanOrEqual(3);
        for (const k of [1, 2]) expect(receiver.requests(path(k))).toHaveLength(perKey);
      },
      300_000,
      500,
    );
    expect(receiver.requests(path(0))).toHaveLength(0);
    const failures = receiver.requests(headPath).length;
    // The head's destination recovers; retry-now sends its next attempt at once.
    receiver.route(headPath, { mode: 'succeed' });
    expect((await api().post(`/tasks/${ids[0]![0]}/retry-now`).send({})).status).toBe(200);
    await eventually(async () => expect(receiver.requests(path(0))).toHaveLength(perKey - 1), 300_000, 500);
    const seqs = Array.from({ length: perKey }, (_, i) => i);
    expect(arrived(path(0))).toEqual(seqs.slice(1));
    expect(arrived(path(1))).toEqual(seqs);
    expect(arrived(path(2))).toEqual(seqs);
    // Key 0's second task arrived only after its head succeeded.
    const head = (await api().get(`/tasks/${ids[0]![0]}`)).body as { state: string; attempt: number };
    expect(head.state).toBe('succeeded');
    expect(head.attempt).toBeGreaterThan(failures);
    // (The head's route was reset when it recovered: its first request since is the successful one.)
    expect(receiver.requests(path(0))[0]!.at).toBeGreaterThanOrEqual(receiver.requests(headPath)[0]!.at);
    // GET /tasks filters by ordering key (the OrderingKey search attribute).
    await eventually(async () => {
      const page = await api()
        .get('/tasks')
        .query({ ordering_key: key(1), page_size: 100 });
      expect(page.status).toBe(200);
      const listed = (page.body as { items: { task_id: string; ordering_key?: string }[] }).items;
      expect(listed.map((t) => t.task_id).sort()).toEqual([...ids[1]!].sort());
      expect(new Set(listed.map((t) => t.ordering_key))).toEqual(new Set([key(1)]));
    }, 30_000);
  }, 700_000);

  it('cancels a waiting task that has not run yet (started deferred); the key lets the next one go after the head', async () => {
    const run = randomUUID().slice(0, 8);
    const key = `acct-${run}-cancel`;
    keys.push(key);
    const headPath = `/${run}/cancel-head`;
    const okPath = `/${run}/cancel-ok`;
    const headUrl = receiver.route(headPath, { mode: 'status', status: 503 });
    const okUrl = receiver.route(okPath, { mode: 'succeed' });
    const task = (n: string, url: string) =>
      httpTask(receiver.origin, { id: `ord-${run}-${n}`, ordering_key: key, destination: { url }, base_delay: 1 });
    const [a, b, c] = [task('a', headUrl), task('b', okUrl), task('c', okUrl)];
    for (const t of [a, b, c]) expect((await api().post('/tasks').send(t)).status).toBe(201);
    await eventually(async () => expect(receiver.requests(headPath).length).toBeGreaterThanOrEqual(1), 60_000, 200);
    expect((await api().get(`/tasks/${c.id}`)).body).toMatchObject({ state: 'blocked', position: 3, blocked_by: b.id });
    // B has run no workflow task yet (deferred): the Web UI shows its key from the start; the cancel's update wakes it.
    const waiting = await h.client.workflow.getHandle(b.id).describe();
    expect(await waiting.staticDetails()).toBe(`ordered: attempted in acceptance order on ordering key ${key}`);
    const cancelled = await api().post(`/tasks/${b.id}/cancel`).send({ reason: 'not needed' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ previous_state: 'blocked', state: 'cancelled' });
    await eventually(async () => {
      expect((await api().get(`/tasks/${b.id}`)).body).toMatchObject({ state: 'cancelled' });
      expect((await api().get(`/tasks/${c.id}`)).body).toMatchObject({
        state: 'blocked',
        position: 2,
        blocked_by: a.id,
      });
    }, 60_000);
    receiver.route(headPath, { mode: 'succeed' });
    expect((await api().post(`/tasks/${a.id}/retry-now`).send({})).status).toBe(200);
    await eventually(async () => {
      expect(receiver.requests(okPath)).toHaveLength(1);
      // The receiver has the request before the workflow records the success.
      expect((await api().get(`/tasks/${c.id}`)).body).toMatchObject({ state: 'succeeded' });
    }, 60_000);
  }, 200_000);

  it('starts the batch items of one key in item order, enqueueing several per signal', async () => {
    const run = randomUUID().slice(0, 8);
    const key = `batch-${run}`;
    keys.push(key);
    const url = receiver.route(`/${run}/batch`, { mode: 'succeed' });
    const tasks = Array.from({ length: 30 }, (_, seq) =>
      httpTask(receiver.origin, {
        id: `batch-${run}-${seq}`,
        ordering_key: key,
        destination: { url },
        base_delay: 0,
        message_data: JSON.stringify({ seq }),
      }),
    );
    const res = await api().post('/tasks/batch').send({ tasks });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    await eventually(async () => expect(receiver.requests(`/${run}/batch`)).toHaveLength(30), 120_000, 500);
    expect(arrived(`/${run}/batch`)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // The items start side by side; those whose start ends while an enqueue of the key is on its way go together.
    const history = await h.client.workflow.getHandle(orderingWorkflowId(key)).fetchHistory();
    const enqueues = (history.events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((a) => a?.signalName === enqueueSignal.name);
    expect(enqueues.reduce((n, a) => n + (a!.input?.payloads?.length ?? 0), 0)).toBe(30);
    expect(enqueues.length).toBeLessThan(30);
  }, 180_000);

  it('refuses on_dead_letter without ordering_key and a malformed ordering_key, naming the field', async () => {
    const lone = await api()
      .post('/tasks')
      .send(httpTask(receiver.origin, { on_dead_letter: 'block' }));
    expect(lone.status).toBe(400);
    expect(lone.body).toMatchObject({ field: 'on_dead_letter' });
    const spaced = await api()
      .post('/tasks')
      .send(httpTask(receiver.origin, { ordering_key: 'a b' }));
    expect(spaced.status).toBe(400);
    expect(spaced.body).toMatchObject({ field: 'ordering_key' });
  });
});
