import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { conformingRequest as request } from './conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/server';
import { buildOpenApiDocument } from '../../api/openapi';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { httpTask, startHarness, testConfig, type Harness } from './harness';

/**
 * The HTTP contract that needs no worker: validation and error codes, limits, auth, OpenAPI. POSTs that pass
 * validation start real workflows on the dev server (on a task queue no worker polls).
 */
let h: Harness;
const receiver = 'http://127.0.0.1:9';
beforeAll(async () => {
  h = await startHarness({ env: { API_BODY_LIMIT: '2kb' } });
});
afterAll(async () => {
  await h?.stop();
});

describe('POST /tasks validation (seed 002 error style)', () => {
  it('answers 400 naming the field when a required field is missing', async () => {
    const { message_data: _omit, ...body } = httpTask(receiver);
    const res = await request(h.api.app).post('/tasks').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'message_data is required', field: 'message_data' });
    expect(res.body.errors).toEqual([{ field: 'message_data', error: 'message_data is required' }]);
  });

  it('names nested fields with their dotted path and lists every problem', async () => {
    const body = { ...httpTask(receiver), destination: { url: 'ftp://x' }, max_retries: -1 };
    const res = await request(h.api.app).post('/tasks').send(body);
    expect(res.status).toBe(400);
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['destination.url', 'max_retries']));
    expect(fields).toContain(res.body.field);
  });

  it('rejects an unknown destination_type', async () => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send({ ...httpTask(receiver), destination_type: 'sqs' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expect.objectContaining({ field: 'destination_type' }));
  });

  it('refuses an HTTP destination the SSRF guard blocks, naming the url field', async () => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, { destination: { url: 'http://169.254.169.254/latest/meta-data' } }));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('destination.url');
    expect(res.body.error).toMatch(/not allowed/);
  });

  it('answers 400 for a body that is not valid JSON', async () => {
    const res = await request(h.api.app).post('/tasks').set('Content-Type', 'application/json').send('{"id": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'request body is not valid JSON', field: '(body)' });
  });

  it('answers 400 when the body is missing', async () => {
    const res = await request(h.api.app).post('/tasks');
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('(body)');
  });

  it('answers 413 for a body larger than API_BODY_LIMIT', async () => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, { message_data: 'x'.repeat(4096) }));
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('request body is too large');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await request(h.api.app).post('/tasks').set('Content-Type', 'text/plain').send('id=1');
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
  });

  it('never sends a stack trace: unknown routes answer a JSON 404', async () => {
    const res = await request(h.api.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'no route for GET /nope' });
  });
});

describe('unknown fields are refused, not dropped', () => {
  it('accepts the seed Kafka body exactly as written, with Location on the 201', async () => {
    const body = {
      id: `task-${Date.now()}-seed`,
      source: 'order-service',
      destination: { host: 'localhost', port: '9092', topic: 'user-events' },
      dead_destination: { host: 'localhost', port: '9092', topic: 'user-events-dlq' },
      max_retries: 5,
      base_delay: 10,
      client_id: 'client-001',
      is_priority: false,
      message_data: '{"user_id": 123, "action": "send_email"}',
      destination_type: 'kafka',
    };
    const res = await request(h.api.app).post('/tasks').send(body);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/tasks/${body.id}`);
  });

  it('answers 400 naming a misspelt top-level field (a typo cannot remove the dead-letter route)', async () => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send({ ...httpTask(receiver), dead_destinaton: { url: `${receiver}/dlq` } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'dead_destinaton', error: 'unknown field "dead_destinaton"' });
    expect(res.body.errors).toEqual([{ field: 'dead_destinaton', error: 'unknown field "dead_destinaton"' }]);
  });

  it('names an unknown destination option by its path', async () => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, { dead_destination: { url: `${receiver}/dlq`, methd: 'PUT' } as never }));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('dead_destination.methd');
  });

  it('accepts destinations that declare their kind, and refuses a kind that disagrees with the fields by its path', async () => {
    const declared = await request(h.api.app)
      .post('/tasks')
      .send(
        httpTask(receiver, {
          destination: { kind: 'http', url: `${receiver}/hook` },
          dead_destination: { kind: 'kafka', host: 'localhost', port: '9092', topic: 'dlq' },
        }),
      );
    expect(declared.status).toBe(201);
    const wrong = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, { destination: { kind: 'kafka', url: `${receiver}/hook` } as never }));
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ field: 'destination.kind', error: 'kind must be "http" for this destination' });
  });

  it('names an unknown field of a batch item and of the batch envelope', async () => {
    const item = await request(h.api.app)
      .post('/tasks/batch')
      .send({ tasks: [httpTask(receiver), { ...httpTask(receiver), priority: true }] });
    expect(item.status).toBe(400);
    expect(item.body.field).toBe('tasks.1.priority');
    expect(item.body.errors).toEqual([{ field: 'tasks.1.priority', error: 'unknown field "priority"' }]);
    const envelope = await request(h.api.app)
      .post('/tasks/batch')
      .send({ tasks: [httpTask(receiver)], dry_run: true });
    expect(envelope.status).toBe(400);
    expect(envelope.body.field).toBe('dry_run');
  });

  it('names an unknown requeue override and an unknown field of a cancel body', async () => {
    const requeue = await request(h.api.app)
      .post('/tasks/any-task/requeue')
      .send({ overrides: { max_retrys: 3 } });
    expect(requeue.status).toBe(400);
    expect(requeue.body.field).toBe('overrides.max_retrys');
    const cancel = await request(h.api.app).post('/tasks/any-task/cancel').send({ reasn: 'x' });
    expect(cancel.status).toBe(400);
    expect(cancel.body.field).toBe('reasn');
  });
});

describe('identifier hygiene', () => {
  it.each([
    ['id', { id: 'task\u0000nul' }, /control/],
    ['id', { id: 'invoice-\u202Egnp.exe' }, /U\+202E/],
    ['id', { id: 'a b' }, /whitespace/],
    ['client_id', { client_id: 'client\u2066x\u2069' }, /U\+2066/],
    ['source', { source: 'svc\n' }, /control/],
    ['source', { source: ' svc' }, /whitespace/],
  ])('refuses %s %j naming the field', async (field, over, message) => {
    const res = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, over as never));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error).toMatch(message);
  });

  it('accepts ids with non-ASCII letters and counts their length in characters', async () => {
    const id = `tâche-${'🙂'.repeat(150)}-${Date.now()}`.slice(0, 200);
    const res = await request(h.api.app).post('/tasks').send(httpTask(receiver, { id }));
    expect(res.status).toBe(201);
  });
});

describe('HTTP semantics', () => {
  it('answers 405 with Allow for a method a known path does not serve', async () => {
    const res = await request(h.api.app).put('/tasks').send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    expect(res.body).toEqual({ error: 'method PUT is not allowed on /tasks (allowed: GET, HEAD, POST, OPTIONS)' });
    const patch = await request(h.api.app).patch('/tasks/some-id');
    expect(patch.status).toBe(405);
    expect(patch.headers.allow).toBe('GET, HEAD, DELETE, OPTIONS');
  });

  it('answers OPTIONS with 204 and Allow, and HEAD like GET without a body', async () => {
    const options = await request(h.api.app).options('/tasks/some-id/requeue');
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('POST, OPTIONS');
    const head = await request(h.api.app).head('/tasks/no-such-task');
    expect(head.status).toBe(404);
    expect(head.text ?? '').toBe('');
  });

  it('answers 415 and 413 with the one error body naming what is at fault', async () => {
    const unsupported = await request(h.api.app).post('/tasks').set('Content-Type', 'text/plain').send('id=1');
    expect(unsupported.body).toMatchObject({ field: 'content-type' });
    const large = await request(h.api.app)
      .post('/tasks')
      .send(httpTask(receiver, { message_data: 'x'.repeat(4096) }));
    expect(large.body).toEqual({ error: 'request body is too large', field: '(body)' });
  });
});

describe('query validation', () => {
  it('rejects an unknown status filter naming the field', async () => {
    const res = await request(h.api.app).get('/tasks?status=lost');
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('status');
  });

  it('rejects filter values with quotes instead of putting them into the visibility query', async () => {
    const res = await request(h.api.app).get('/tasks').query({ client_id: 'a" OR WorkflowType != "x' });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('client_id');
  });

  it('rejects a page_size above the maximum', async () => {
    const res = await request(h.api.app).get('/dead-letters?page_size=5000');
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('page_size');
  });

  it('rejects a bulk requeue that gives neither ids nor filter', async () => {
    const res = await request(h.api.app).post('/dead-letters/requeue').send({ dry_run: true });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'give either ids or filter', field: 'ids' });
  });

  it('rejects a batch of more than 1000 tasks', async () => {
    const tasks = Array.from({ length: 1001 }, () => ({ id: 'x' }));
    const app = createApp({ ...depsOf(h), config: { ...h.config, API_BODY_LIMIT: '1mb' } });
    const res = await request(app).post('/tasks/batch').send({ tasks });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'tasks', error: 'a batch holds at most 1000 tasks' });
  });
});

describe('when Temporal is unreachable', () => {
  let client: Client;
  let connection: Connection;
  beforeAll(async () => {
    // Nothing listens on port 1: every call fails with UNAVAILABLE until the request's deadline.
    connection = Connection.lazy({ address: '127.0.0.1:1' });
    client = new Client({ connection, namespace: 'default' });
  });
  afterAll(async () => {
    await connection.close();
  });
  const app = () =>
    createApp({
      config: testConfig(),
      logger: createLogger('silent'),
      client,
      metrics: createMetrics(),
      namespace: 'default',
      temporalTimeoutMs: 1500,
    });

  it('answers 503 without a stack trace on POST /tasks', async () => {
    const res = await request(app()).post('/tasks').send(httpTask(receiver));
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'Temporal is unreachable, try again later' });
  });

  it('answers 503 (not 500) on GET /jobs/{id}', async () => {
    const res = await request(app()).get('/jobs/job-00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'Temporal is unreachable, try again later' });
  });

  it('reports the temporal part of GET /health as down with 503', async () => {
    const res = await request(app()).get('/health');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('unavailable');
    expect(res.body.checks.temporal.ok).toBe(false);
    expect(res.body.checks.workers.ok).toBe(false);
  });
});

describe('API keys (when configured)', () => {
  const app = () => createApp({ ...depsOf(h), config: { ...h.config, API_KEYS: ['k-one', 'k-two'] } });

  it('answers 401 with WWW-Authenticate when no bearer token is sent', async () => {
    const res = await request(app()).get('/tasks/anything');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.error).toMatch(/bearer/i);
  });

  it('answers 403 for a token that is not a configured key', async () => {
    const res = await request(app()).get('/tasks/anything').set('Authorization', 'Bearer wrong');
    expect(res.status).toBe(403);
  });

  it('lets a configured key through', async () => {
    const res = await request(app()).get('/tasks/does-not-exist').set('Authorization', 'Bearer k-two');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'task does-not-exist not found', task_id: 'does-not-exist' });
  });

  it('keeps /metrics and /openapi.json public', async () => {
    expect((await request(app()).get('/metrics')).status).toBe(200);
    expect((await request(app()).get('/openapi.json')).status).toBe(200);
  });
});

describe('rate limit (when configured)', () => {
  const app = (bypass: boolean) =>
    createApp({
      ...depsOf(h),
      config: { ...h.config, RATE_LIMIT_PER_MINUTE: 2, RATE_LIMIT_PRIORITY_BYPASS: bypass },
    });

  it('answers 429 with Retry-After once a client exceeds its submissions per minute', async () => {
    const a = app(true);
    const client_id = `client-${Date.now()}`;
    expect((await request(a).post('/tasks').send(httpTask(receiver, { client_id }))).status).toBe(201);
    expect((await request(a).post('/tasks').send(httpTask(receiver, { client_id }))).status).toBe(201);
    const res = await request(a).post('/tasks').send(httpTask(receiver, { client_id }));
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ field: 'client_id' });
    // Another client has its own budget.
    expect(
      (
        await request(a)
          .post('/tasks')
          .send(httpTask(receiver, { client_id: `${client_id}-b` }))
      ).status,
    ).toBe(201);
  });

  it('lets priority tasks past the limit when RATE_LIMIT_PRIORITY_BYPASS is on, and not when off', async () => {
    for (const bypass of [true, false]) {
      const a = app(bypass);
      const client_id = `client-prio-${bypass}-${Date.now()}`;
      for (let i = 0; i < 2; i++) await request(a).post('/tasks').send(httpTask(receiver, { client_id }));
      const res = await request(a)
        .post('/tasks')
        .send(httpTask(receiver, { client_id, is_priority: true }));
      expect(res.status).toBe(bypass ? 201 : 429);
    }
  });
});

describe('OpenAPI', () => {
  it('serves the document generated from the zod schemas, equal to the checked-in api/openapi.json', async () => {
    const res = await request(h.api.app).get('/openapi.json');
    expect(res.status).toBe(200);
    const checkedIn = JSON.parse(readFileSync(path.resolve(__dirname, '../../api/openapi.json'), 'utf8'));
    // When this fails: npx tsx scripts/write-openapi.ts
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(res.body).toEqual(checkedIn);
  });

  it('documents every route the app serves, with both seed 002 examples on POST /tasks', () => {
    const doc = buildOpenApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/dead-letters',
        '/dead-letters/requeue',
        '/destinations',
        '/destinations/{key}/pause',
        '/destinations/{key}/resume',
        '/health',
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/cancel',
        '/metrics',
        '/openapi.json',
        '/tasks',
        '/tasks/batch',
        '/tasks/cancel',
        '/tasks/{id}',
        '/tasks/{id}/ack',
        '/tasks/{id}/cancel',
        '/tasks/{id}/nack',
        '/tasks/{id}/requeue',
        '/tasks/{id}/retry-now',
      ].sort(),
    );
    const examples = doc.paths['/tasks'].post.requestBody.content['application/json'].examples;
    expect(Object.keys(examples)).toEqual(['kafka', 'http']);
    expect(doc.components.schemas.TaskRequest).toHaveProperty('oneOf');
  });

  it('serves a docs page at /docs', async () => {
    const res = await request(h.api.app).get('/docs/').redirects(1);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/swagger-ui/i);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text including the submission counter', async () => {
    await request(h.api.app).post('/tasks').send(httpTask(receiver));
    const res = await request(h.api.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(
      /retry_service_tasks_submitted_total\{destination_type="http",priority="false",via="api"\} \d+/,
    );
  });
});

function depsOf(harness: Harness) {
  return {
    config: harness.config,
    logger: createLogger('silent'),
    client: harness.client,
    metrics: createMetrics(),
    namespace: 'default',
  };
}
