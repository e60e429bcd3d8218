import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiRequestError } from '../../cli/api-client';
import { expectConforms, expectRequestConforms } from './conformance';
import { eventually, httpTask, startHarness, startReceiver, type Harness } from './harness';

/**
 * The typed client (cli/api-client.ts) against the real API: every request it sends and every answer it reads is
 * checked against the OpenAPI document, so the client, the document and the server cannot drift apart.
 */
let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let client: ApiClient;
/** Off while a test sends a request the document forbids on purpose. */
let checkRequests = true;

/** A fetch that checks the request body and the answer against the document. */
const checkingFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const method = init?.method ?? 'GET';
  if (checkRequests)
    expectRequestConforms(method, url.pathname, init?.body ? JSON.parse(String(init.body)) : undefined);
  const res = await fetch(input, init);
  const text = await res.clone().text();
  expectConforms(method, url.pathname, {
    status: res.status,
    body: text ? JSON.parse(text) : undefined,
    headers: Object.fromEntries(res.headers),
  });
  return res;
};

beforeAll(async () => {
  receiver = await startReceiver();
  h = await startHarness({ worker: true });
  client = new ApiClient({ baseUrl: h.api.url, fetch: checkingFetch });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

describe('the typed API client', () => {
  it('drives every task operation with requests and answers the document describes', async () => {
    expect((await client.health()).status).toBe('ok');

    // A client id of its own: other files list the shared test client id too.
    const mine = { client_id: `client-${randomUUID()}` };
    const one = httpTask(receiver.url, mine);
    const submitted = await client.submitTask(one);
    expect(submitted).toMatchObject({ task_id: one.id, message: `Task ${one.id} scheduled successfully` });
    expect((await client.getTask(one.id)).task_id).toBe(one.id);

    const [two, three] = [httpTask(receiver.url, mine), httpTask(receiver.url, mine)];
    const batch = await client.submitBatch([two, three]);
    expect(batch).toMatchObject({ total: 2, started: 2, failed: 0 });

    const requeued = await client.requeueTask(two.id, { overrides: { max_retries: 1 }, reason: 'client test' });
    expect(requeued.task_id).toBe(two.id);
    await eventually(async () => expect((await client.getTask(two.id)).state).toBe('succeeded'));

    const cancelled = await client.cancelTask(one.id, 'client test');
    expect(cancelled.state).toBe('cancelled');
    const terminated = await client.terminateTask(three.id, 'client test');
    expect(terminated.task_id).toBe(three.id);

    await eventually(async () => {
      const page = await client.listTasks({ client_id: one.client_id }, { page_size: 10 });
      expect(page.items.map((t) => t.task_id)).toEqual(expect.arrayContaining([one.id, two.id, three.id]));
    });
    const parked = await client.listDeadLetters({}, { page_size: 5 });
    expect(Array.isArray(parked.items)).toBe(true);
    const dry = await client.requeueDeadLetters({ ids: [one.id] }, { dryRun: true });
    expect(dry).toMatchObject({ dry_run: true, count: 0 });
  });

  it('throws the one error body, typed, for a refused request', async () => {
    const err = await client.getTask('no-such-task').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect((err as ApiRequestError).status).toBe(404);
    expect((err as ApiRequestError).body).toEqual({ error: 'task no-such-task not found', task_id: 'no-such-task' });
    checkRequests = false;
    try {
      const bad = await client.submitTask({ ...httpTask(receiver.url), id: 'a\u202Eb' }).catch((e: unknown) => e);
      expect((bad as ApiRequestError).body?.field).toBe('id');
    } finally {
      checkRequests = true;
    }
  });
});
