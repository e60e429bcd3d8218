import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/server';
import { ackToken } from '../../destinations/ack-token';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { conformingRequest as request } from './conformance';
import { httpTask, startHarness, type Harness } from './harness';

/**
 * The HTTP contract of the receiver's ack and nack (no worker: what the API decides before the workflow does), each
 * answer checked against the OpenAPI document. The workflow's side is in test/workflows/receiver-ack.test.ts, the
 * whole round trip in test/deliveries/receiver-ack.test.ts.
 */
const SECRET = 'contract-ack-secret-0123456789';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { ACK_SECRET: SECRET, API_KEYS: 'key-1' } });
});
afterAll(async () => {
  await h?.stop();
});

const tokenFor = (taskId: string, secret = SECRET) =>
  ackToken(secret, taskId, { target: 'primary', round: 0, attempt: 1 });

describe('POST /tasks/:id/ack and /nack', () => {
  it('answers 400 naming the field for a missing token, reason or a retryable that is not a boolean', async () => {
    const missing = await request(h.api.app).post('/tasks/t-1/ack').send({});
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ field: 'token' });
    const noReason = await request(h.api.app)
      .post('/tasks/t-1/nack')
      .send({ token: tokenFor('t-1') });
    expect(noReason.body).toMatchObject({ field: 'reason' });
    const badFlag = await request(h.api.app)
      .post('/tasks/t-1/nack')
      .send({ token: tokenFor('t-1'), reason: 'x', retryable: 'no' });
    expect(badFlag.body).toMatchObject({ field: 'retryable' });
    const unknown = await request(h.api.app)
      .post('/tasks/t-1/ack')
      .send({ token: tokenFor('t-1'), extra: 1 });
    expect(unknown.body).toMatchObject({ field: 'extra' });
  });

  it('answers 403 for a token issued for another task or under another secret, without an API key', async () => {
    for (const token of [tokenFor('t-other'), tokenFor('t-1', 'another-secret-0123456789'), 'v1.p.0.1.short']) {
      const res = await request(h.api.app).post('/tasks/t-1/ack').send({ token });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ field: 'token', error: 'token was not issued for a delivery of task t-1' });
    }
  });

  it('answers 404 for a genuine token of a task that does not exist', async () => {
    const res = await request(h.api.app)
      .post('/tasks/no-such-task/ack')
      .send({ token: tokenFor('no-such-task') });
    expect(res.status).toBe(404);
  });

  it('without ACK_SECRET refuses tasks with ack_timeout (400 naming the field) and every token (403)', async () => {
    const app = createApp({
      config: { ...h.config, ACK_SECRET: undefined, API_KEYS: [] },
      logger: createLogger('silent'),
      client: h.client,
      metrics: createMetrics(),
      namespace: 'default',
    });
    const task = httpTask('http://127.0.0.1:9', {
      dead_destination: { url: 'http://127.0.0.1:9/dlq', ack_timeout: 5 },
    });
    const refused = await request(app).post('/tasks').send(task);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ field: 'dead_destination.ack_timeout' });
    const ack = await request(app)
      .post('/tasks/t-1/ack')
      .send({ token: tokenFor('t-1') });
    expect(ack.status).toBe(403);
    expect(ack.body.error).toMatch(/ACK_SECRET is not set/);
  });

  it('refuses an ack_timeout outside 1 s … 7 days, naming the field', async () => {
    for (const ack_timeout of [0, 7 * 24 * 3600 + 1]) {
      const task = httpTask('http://127.0.0.1:9', { destination: { url: 'http://127.0.0.1:9/hook', ack_timeout } });
      const res = await request(h.api.app).post('/tasks').set('Authorization', 'Bearer key-1').send(task);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ field: 'destination.ack_timeout' });
    }
  });
});
