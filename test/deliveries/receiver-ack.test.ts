import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckHeader } from '../../domain/ack';
import { TaskState } from '../../domain/status';
import { ackToken } from '../../destinations/ack-token';
import { freePort } from '../../scripts/stack/process';
import { eventually, httpTask, startHarness, type Harness } from '../api/harness';
import { HttpReceiver, type ReceivedRequest } from '../support/http-receiver';

/**
 * Receiver acknowledgement on the real stack: the API (with API keys, which the ack routes do not need) and a worker
 * on the dev server, and a real receiver that answers 202 at once and acks (or nacks) later through the X-Ack-Url /
 * X-Nack-Url its delivery carried, with the X-Ack-Token it was given.
 */
const SECRET = 'ack-secret-for-tests-0123456789';
const API_KEY = 'test-key-ack';
let harness: Harness;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  const port = await freePort();
  harness = await startHarness({
    worker: true,
    env: { ACK_SECRET: SECRET, API_PORT: String(port), API_KEYS: API_KEY },
  });
});
afterAll(async () => {
  await harness?.stop();
  await receiver?.stop();
});

const authorized = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

async function submit(body: unknown): Promise<void> {
  const res = await fetch(`${harness.api.url}/tasks`, {
    method: 'POST',
    headers: authorized,
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

async function status(id: string): Promise<Record<string, unknown> & { state: string }> {
  const res = await fetch(`${harness.api.url}/tasks/${id}`, { headers: authorized });
  return (await res.json()) as Record<string, unknown> & { state: string };
}

/** The receiver's later call: POST the token (and for a nack, reason and retryable) to a URL its delivery named. */
async function callBack(url: string, body: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The `n`th delivery (1-based) that reached `path`, once it has. */
const delivery = (path: string, n = 1): Promise<ReceivedRequest> =>
  eventually(
    async () => {
      const got = receiver.requests(path)[n - 1];
      if (!got) throw new Error(`delivery ${n} has not reached ${path}`);
      return got;
    },
    30_000,
    50,
  );

const header = (r: ReceivedRequest, name: string) => String(r.headers[name]);

describe('receiver acknowledgement (real stack)', () => {
  it('a receiver that answers 202 and acks later through X-Ack-Url makes the task succeed', async () => {
    const url = receiver.route('/queue-behind', { mode: 'succeed', status: 202 });
    const task = httpTask(receiver.origin, {
      destination: { url, ack_timeout: 300 },
      deliver_at: new Date().toISOString(),
    });
    await submit(task);
    const got = await delivery('/queue-behind');
    expect(header(got, AckHeader.Url)).toBe(`${harness.api.url}/tasks/${task.id}/ack`);
    expect(header(got, AckHeader.NackUrl)).toBe(`${harness.api.url}/tasks/${task.id}/nack`);
    const token = header(got, AckHeader.Token);
    expect(token).toMatch(/^v1\.p\.0\.1\./);
    const waiting = await eventually(async () => {
      const s = await status(task.id);
      expect(s.state).toBe(TaskState.AwaitingAck);
      return s;
    });
    expect(Date.parse(String(waiting.ack_deadline)) - Date.now()).toBeGreaterThan(200_000);

    // A token for another task, or one made without the secret, is refused; the task keeps waiting.
    const foreign = ackToken(SECRET, 'some-other-task', { target: 'primary', round: 0, attempt: 1 });
    const forged = ackToken('not-the-secret-at-all-0000', task.id, { target: 'primary', round: 0, attempt: 1 });
    for (const bad of [foreign, forged, 'garbage']) {
      const res = await callBack(header(got, AckHeader.Url), { token: bad });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ field: 'token' });
    }
    expect((await status(task.id)).state).toBe(TaskState.AwaitingAck);

    const acked = await callBack(header(got, AckHeader.Url), { token });
    expect(acked).toMatchObject({ status: 200, body: { task_id: task.id, state: TaskState.Succeeded } });
    await eventually(async () => expect((await status(task.id)).state).toBe(TaskState.Succeeded));
    // Once the task is closed an ack is late: 409 with the reason.
    const again = await callBack(header(got, AckHeader.Url), { token });
    expect(again.status).toBe(409);
    expect(String(again.body.error)).toMatch(/closed/);
  });

  it('answers 409 to a late ack of an attempt that timed out, and takes the ack of the next attempt', async () => {
    const url = receiver.route('/slow-to-ack', { mode: 'succeed', status: 202 });
    const task = httpTask(receiver.origin, {
      destination: { url, ack_timeout: 1 },
      base_delay: 1,
      // Room for attempts that time out before the test's ack reaches them on a loaded machine.
      max_retries: 8,
      deliver_at: new Date().toISOString(),
    });
    await submit(task);
    const first = await delivery('/slow-to-ack', 1);
    const second = await delivery('/slow-to-ack', 2);
    expect(header(second, AckHeader.Token)).not.toBe(header(first, AckHeader.Token));
    const late = await callBack(header(first, AckHeader.Url), { token: header(first, AckHeader.Token) });
    expect(late.status).toBe(409);
    expect(String(late.body.error)).toMatch(/attempt 1 timed out waiting for its acknowledgement/);
    // Attempt 2 may time out too on a loaded machine; ack whichever attempt waits now.
    const acked = await eventually(
      async () => {
        const n = receiver.requests('/slow-to-ack').length;
        const latest = receiver.requests('/slow-to-ack')[n - 1]!;
        const res = await callBack(header(latest, AckHeader.Url), { token: header(latest, AckHeader.Token) });
        if (res.status !== 200) throw new Error(`ack answered ${res.status}: ${JSON.stringify(res.body)}`);
        return res;
      },
      30_000,
      100,
    );
    expect(acked.body.state).toBe(TaskState.Succeeded);
    const final = await status(task.id);
    const attempts = final.attempts as { outcome: string; error_class?: string }[];
    expect(attempts[0]).toMatchObject({ outcome: 'retryable', error_class: 'ack_timeout' });
    expect(attempts.at(-1)).toMatchObject({ outcome: 'success' });
  });

  it('a nack that is not retryable through X-Nack-Url sends the message to the dead destination at once', async () => {
    const url = receiver.route('/refuses-later', { mode: 'succeed', status: 202 });
    const dead = receiver.route('/dlq-ack', { mode: 'succeed' });
    const task = httpTask(receiver.origin, {
      destination: { url, ack_timeout: 300 },
      dead_destination: { url: dead },
      deliver_at: new Date().toISOString(),
    });
    await submit(task);
    const got = await delivery('/refuses-later');
    await eventually(async () => expect((await status(task.id)).state).toBe(TaskState.AwaitingAck));
    const bad = await callBack(header(got, AckHeader.NackUrl), {
      token: header(got, AckHeader.Token),
      retryable: 'no',
    });
    expect(bad).toMatchObject({ status: 400, body: { field: 'reason' } });
    const nacked = await callBack(header(got, AckHeader.NackUrl), {
      token: header(got, AckHeader.Token),
      reason: 'customer unknown',
      retryable: false,
    });
    expect(nacked.status).toBe(200);
    const dl = await delivery('/dlq-ack');
    expect(dl.headers['x-retry-reason']).toBe('permanent');
    expect(dl.headers[AckHeader.Token]).toBeUndefined();
    const parked = await eventually(async () => {
      const s = await status(task.id);
      expect(s.state).toBe(TaskState.DeadLettered);
      return s;
    });
    expect(parked.last_error).toBe('receiver nack (not retryable): customer unknown');
  });

  it('refuses ack_timeout on a Kafka destination, naming the field', async () => {
    const res = await fetch(`${harness.api.url}/tasks`, {
      method: 'POST',
      headers: authorized,
      body: JSON.stringify({
        ...httpTask(receiver.origin),
        destination_type: 'kafka',
        destination: { host: 'localhost', port: 9092, topic: 't', ack_timeout: 60 },
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'destination.ack_timeout' });
  });
});
