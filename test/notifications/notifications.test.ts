import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitLifecycleEvent } from '../../activities/lifecycle-events';
import type { NotificationBody } from '../../activities/notification-tasks';
import { notifierWorkflowId } from '../../domain/notifications';
import { HttpReceiver, type ReceivedRequest } from '../support/http-receiver';
import { conformingRequest as request } from '../api/conformance';
import { eventually, httpTask, startHarness, type Harness } from '../api/harness';

/**
 * Lifecycle notifications end to end: the API and a worker on the dev server, a destination that fails, and a real
 * webhook receiver that checks every notification's Standard Webhooks signature.
 */
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const WINDOW_SECONDS = 4;

/**
 * A destination that holds its first `n` requests until all have arrived and then fails them together (so the
 * tasks dead-letter within a moment of each other, well inside one coalescing window); 200 once `healthy`.
 */
async function startBarrierDestination(n: number) {
  const held: http.ServerResponse[] = [];
  const state = { healthy: false, requests: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests += 1;
      if (state.healthy) return void res.writeHead(200).end('{}');
      if (held.length < n) held.push(res);
      else res.writeHead(500).end();
      if (held.length === n) for (const r of held.splice(0)) r.writeHead(500).end('down');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The notifications the receiver took (2xx), each verified by its signature; throws on a bad signature. */
function verified(requests: ReceivedRequest[]): NotificationBody[] {
  const wh = new Webhook(SECRET);
  return requests.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as NotificationBody);
}

let h: Harness;
let receiver: HttpReceiver;
let down: Awaited<ReturnType<typeof startBarrierDestination>>;
const N = 4;
beforeAll(async () => {
  receiver = await HttpReceiver.start();
  // The receiver refuses its first notification: it must come again (the same machinery as any task).
  const notifyUrl = receiver.route('/events', { mode: 'fail_then_succeed', failures: 1, status: 503 });
  down = await startBarrierDestination(N);
  h = await startHarness({
    worker: true,
    env: {
      NOTIFY_WEBHOOK_URL: notifyUrl,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_COALESCE_SECONDS: String(WINDOW_SECONDS),
      BREAKER_CONSECUTIVE_FAILURES: '3',
      BREAKER_HALF_OPEN_AFTER_SECONDS: '1',
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.stop();
  await down?.close();
});

const api = () => request(h.api.app);
const events = () => verified(receiver.requests('/events'));
const eventOf = (type: string, match: (e: NotificationBody) => boolean = () => true) =>
  eventually(
    async () => {
      const found = events().filter((e) => e.type === type && match(e));
      expect(found.length).toBeGreaterThan(0);
      return found;
    },
    60_000,
    250,
  );

describe('lifecycle notifications', () => {
  it('an outage sends one coalesced task.dead_lettered, destination.failing, then recovered and job.completed after the replay', async () => {
    const tasks = Array.from({ length: N }, () => httpTask(down.origin, { max_retries: 1, base_delay: 0 }));
    expect((await api().post('/tasks/batch').send({ tasks })).body.started).toBe(N);
    for (const t of tasks) {
      await eventually(async () => expect((await api().get(`/tasks/${t.id}`)).body.state).toBe('dead_lettered'));
    }

    // One event for the whole outage, counting every task, with a link to the dead letters.
    const [dead, ...more] = await eventOf('task.dead_lettered', (e) => e.data.subject === down.origin);
    expect(more).toEqual([]);
    expect(dead!.data.count).toBe(N);
    expect([...dead!.data.task_ids].sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(dead!.data.links.self).toMatch(/\/dead-letters\?status=dead_lettered$/);
    expect(dead!.data.details).toMatchObject({ reason: 'exhausted', attempts: 1 });
    const [failing] = await eventOf('destination.failing', (e) => e.data.subject === down.origin);
    expect(failing!.data.count).toBe(1);

    // The refused first notification came again under the same webhook-id, and its task succeeded.
    const firstId = receiver.requests('/events')[0]!.headers['webhook-id'] as string;
    await eventually(async () => {
      const sent = receiver.requests('/events').filter((r) => r.headers['webhook-id'] === firstId);
      expect(sent.map((r) => r.body)).toEqual([sent[0]!.body, sent[0]!.body]);
      expect((await api().get(`/tasks/${firstId}`)).body).toMatchObject({ state: 'succeeded', attempt: 2 });
    }, 60_000);

    // Fixed: replay the dead letters as a job; the destination recovers and the job reports its end.
    down.state.healthy = true;
    const res = await api()
      .post('/dead-letters/requeue')
      .send({ ids: tasks.map((t) => t.id) });
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    const [job] = await eventOf('job.completed', (e) => e.data.job_id === jobId);
    expect(job!.data.details).toMatchObject({ kind: 'requeue', state: 'completed', total: N, done: N });
    expect(job!.data.links.self).toMatch(new RegExp(`/jobs/${jobId}$`));
    const [recovered] = await eventOf('destination.recovered', (e) => e.data.subject === down.origin);
    expect(recovered!.data.links).toMatchObject({
      self: expect.stringMatching(/\/destinations$/),
      resume: expect.stringContaining(`/destinations/${encodeURIComponent(down.origin)}/resume`),
    });
    for (const t of tasks) {
      await eventually(async () => expect((await api().get(`/tasks/${t.id}`)).body.state).toBe('succeeded'));
    }
  });

  it('delivers destination.paused reported through emitLifecycleEvent (the pause code calls it)', async () => {
    const subject = `http://paused-${Date.now()}.example`;
    await emitLifecycleEvent(h.client, h.config, { type: 'destination.paused', subject, destination: subject });
    await emitLifecycleEvent(h.client, h.config, { type: 'destination.resumed', subject, destination: subject });
    const [paused] = await eventOf('destination.paused', (e) => e.data.subject === subject);
    expect(paused!.data.links.resume).toContain(`/destinations/${encodeURIComponent(subject)}/resume`);
    await eventOf('destination.resumed', (e) => e.data.subject === subject);
  });

  it('a notification task that dead-letters reports nothing about itself', async () => {
    receiver.route('/events', { mode: 'status', status: 410 });
    const notifier = h.client.workflow.getHandle(notifierWorkflowId(h.config.TASK_QUEUE));
    const subject = `http://gone-${Date.now()}.example`;
    await emitLifecycleEvent(h.client, h.config, { type: 'destination.paused', subject });
    // The notification is refused for good (410): its task dead-letters.
    const taskId = await eventually(
      async () => {
        const hit = receiver.requests('/events').find((r) => r.body.includes(subject));
        expect(hit).toBeDefined();
        return hit!.headers['webhook-id'] as string;
      },
      60_000,
      250,
    );
    await eventually(async () => expect((await api().get(`/tasks/${taskId}`)).body.state).toBe('dead_lettered'));
    // Everything the notifier was told since names the emitted subject only, never the dead notification task.
    const signalled: string[] = [];
    const history = await notifier.fetchHistory();
    for (const e of history.events ?? []) {
      const payload = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      if (payload) signalled.push(Buffer.from(payload).toString('utf8'));
    }
    expect(signalled.some((s) => s.includes(subject))).toBe(true);
    expect(signalled.some((s) => s.includes(taskId))).toBe(false);
  });
});

describe('without notification settings', () => {
  it('starts no notifier when a task dead-letters (zero cost)', async () => {
    const quiet = await startHarness({ worker: true });
    try {
      const task = httpTask(down.origin, { max_retries: 0 });
      expect((await request(quiet.api.app).post('/tasks').send(task)).status).toBe(201);
      await eventually(async () =>
        expect((await request(quiet.api.app).get(`/tasks/${task.id}`)).body.state).toBe('dead_lettered'),
      );
      await expect(
        quiet.client.workflow.getHandle(notifierWorkflowId(quiet.config.TASK_QUEUE)).describe(),
      ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    } finally {
      await quiet.stop();
    }
  });
});
