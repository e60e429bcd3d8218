import { CancelledFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_AGENT, type DeliveryDeps } from '../../activities';
import { DeliveryFailureType } from '../../domain/failures';
import type { HttpDestination } from '../../domain/task';
import { createHttpClient } from '../../destinations/http/client';
import { checkUrlAllowed } from '../../destinations/ssrf-guard';
import { HttpReceiver, refusedUrl } from '../support/http-receiver';
import { activityEnv, failureOf, request, runActivity, SECRETS, testDeps } from './helpers';

let receiver: HttpReceiver;
let deps: DeliveryDeps;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  // One receiver origin serves every case here; the breaker is tested on its own (guard.test.ts).
  deps = testDeps({ HTTP_BODY_SNIPPET_CHARS: '64', HTTP_MAX_RESPONSE_BYTES: '1000', ...noBreaker });
});
afterAll(async () => {
  await deps.close();
  await receiver.stop();
});

const noBreaker = { BREAKER_CONSECUTIVE_FAILURES: '10000' };
const http = (url: string, over: Partial<HttpDestination> = {}): HttpDestination => ({
  kind: 'http',
  url,
  ...over,
});

describe('HTTP delivery: request and receipt', () => {
  it('when the receiver answers 200 then the receipt carries status, duration and body snippet, and the request carries the delivery headers', async () => {
    const url = receiver.route('/ok', { mode: 'succeed' });
    const req = request(http(url, { headers: { 'X-Tenant': 'acme' } }), {
      attempt: 2,
      key: 'order-42',
      headers: { 'X-Trace': 'abc' },
    });
    const receipt = await runActivity(deps, 'deliverHttp', req);

    expect(receipt.status_code).toBe(200);
    expect(receipt.duration_ms).toBeGreaterThanOrEqual(0);
    expect(receipt.body_snippet).toBe('{"ok":true,"n":1}');
    const [got] = receiver.requests('/ok');
    expect(got?.method).toBe('POST');
    expect(got?.body).toBe(req.message_data);
    expect(got?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-message-key': `${req.task_id}|2`,
      'idempotency-key': req.task_id,
      'user-agent': USER_AGENT,
      'x-tenant': 'acme',
      'x-trace': 'abc',
      'x-retry-key': 'order-42',
      'x-retry-task-id': req.task_id,
      'x-retry-attempt': '2',
      'x-retry-source': 'billing',
    });
    expect(got?.headers['webhook-signature']).toBeUndefined();
  });

  it('when message_data is not JSON then it is sent as text/plain, byte for byte', async () => {
    const url = receiver.route('/text', { mode: 'succeed' });
    await runActivity(deps, 'deliverHttp', request(http(url), { message_data: 'plain café text' }));
    const [got] = receiver.requests('/text');
    expect(got?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(got?.body).toBe('plain café text');
  });

  it('when a task header tries to override a delivery header then the delivery header wins', async () => {
    const url = receiver.route('/override', { mode: 'succeed' });
    const req = request(http(url), { headers: { 'Idempotency-Key': 'mine', 'X-Message-Key': 'mine', Host: 'evil' } });
    await runActivity(deps, 'deliverHttp', req);
    const [got] = receiver.requests('/override');
    expect(got?.headers['idempotency-key']).toBe(req.task_id);
    expect(got?.headers['x-message-key']).toBe(`${req.task_id}|1`);
    expect(got?.headers.host).toBe(new URL(url).host);
  });

  it('when the receiver fails twice then succeeds then X-Message-Key follows the attempt and Idempotency-Key stays constant', async () => {
    const url = receiver.route('/flaky', { mode: 'fail_then_succeed', failures: 2 });
    const base = request(http(url));
    for (const attempt of [1, 2]) {
      const f = await failureOf(runActivity(deps, 'deliverHttp', { ...base, attempt }));
      expect(f.type).toBe(DeliveryFailureType.Retryable);
      expect(f.details).toMatchObject({ error_class: 'http_503', status_code: 503 });
    }
    const receipt = await runActivity(deps, 'deliverHttp', { ...base, attempt: 3 });
    expect(receipt.status_code).toBe(200);
    const got = receiver.requests('/flaky');
    expect(got.map((r) => r.headers['x-message-key'])).toEqual([1, 2, 3].map((a) => `${base.task_id}|${a}`));
    expect(new Set(got.map((r) => r.headers['idempotency-key']))).toEqual(new Set([base.task_id]));
  });

  it('when the destination names a secret with two keys then the signature verifies with either key', async () => {
    const url = receiver.route('/signed', { mode: 'succeed' });
    const req = request(http(url, { signing_secret_ref: 'partner-a' }));
    await runActivity(deps, 'deliverHttp', req);
    const [got] = receiver.requests('/signed');
    const headers = got!.headers as Record<string, string>;
    expect(headers['webhook-id']).toBe(req.task_id);
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const secret of SECRETS['partner-a']) {
      expect(new Webhook(secret).verify(got!.body, headers)).toEqual(JSON.parse(req.message_data));
    }
    expect(() =>
      new Webhook('whsec_' + Buffer.from('some-other-secret').toString('base64')).verify(got!.body, headers),
    ).toThrow(/No matching signature/);
  });

  it('when the destination names an unknown secret then the delivery is rejected permanently and nothing is sent', async () => {
    const url = receiver.route('/unsigned', { mode: 'succeed' });
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url, { signing_secret_ref: 'nobody' }))));
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.nonRetryable).toBe(true);
    expect(f.details.error_class).toBe('unknown_secret');
    expect(f.message).toMatch(/"nobody" is not configured/);
    expect(receiver.requests('/unsigned')).toHaveLength(0);
  });

  it('when delivering to a dead destination then the original body, key and headers arrive with the failure context', async () => {
    const url = receiver.route('/dead', { mode: 'succeed' });
    const req = request(http(url), {
      kind: 'dead_letter',
      key: 'k1',
      headers: { 'X-Original': 'yes' },
      failure: {
        reason: 'exhausted',
        attempts: 4,
        last_error: 'HTTP 503 from POST http://x/\r\nInjected: header',
        last_status_code: 503,
        first_attempt_at: '2024-01-01T00:00:00.000Z',
        last_attempt_at: '2024-01-01T00:00:07.000Z',
        original_destination: 'POST https://example.com/hook',
      },
    });
    await runActivity(deps, 'deliverHttp', req);
    const [got] = receiver.requests('/dead');
    expect(got?.body).toBe(req.message_data);
    expect(got?.headers).toMatchObject({
      'x-original': 'yes',
      'x-retry-key': 'k1',
      'x-retry-reason': 'exhausted',
      'x-retry-attempts': '4',
      'x-retry-last-error': 'HTTP 503 from POST http://x/ Injected: header',
      'x-retry-last-status': '503',
      'x-retry-first-attempt-at': '2024-01-01T00:00:00.000Z',
      'x-retry-last-attempt-at': '2024-01-01T00:00:07.000Z',
      'x-retry-original-destination': 'POST https://example.com/hook',
      'x-retry-task-id': req.task_id,
      'x-retry-source': 'billing',
    });
    expect(got?.headers.injected).toBeUndefined();
  });

  it('when many deliveries go to one origin then the keep-alive pool reuses its connection', async () => {
    const url = receiver.route('/pooled', { mode: 'succeed' });
    const before = receiver.connectionsAccepted;
    for (let i = 0; i < 20; i++) await runActivity(deps, 'deliverHttp', request(http(url)));
    expect(receiver.requests('/pooled')).toHaveLength(20);
    expect(receiver.connectionsAccepted - before).toBeLessThanOrEqual(1);
  });
});

describe('HTTP delivery: classification', () => {
  it.each([
    [503, DeliveryFailureType.Retryable],
    [500, DeliveryFailureType.Retryable],
    [408, DeliveryFailureType.Retryable],
    [425, DeliveryFailureType.Retryable],
    [410, DeliveryFailureType.Permanent],
    [400, DeliveryFailureType.Permanent],
    [404, DeliveryFailureType.Permanent],
  ])('when the receiver answers %i then the failure is %s with the status and a body snippet', async (status, type) => {
    const url = receiver.route(`/status-${status}`, { mode: 'status', status, body: `nope ${status}` });
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url))));
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(type === DeliveryFailureType.Permanent);
    expect(f.details).toMatchObject({
      error_class: `http_${status}`,
      status_code: status,
      body_snippet: `nope ${status}`,
    });
  });

  it('when the receiver answers 429 with Retry-After in seconds then retry_after_ms is returned', async () => {
    const url = receiver.route('/429', { mode: 'status', status: 429, headers: { 'retry-after': '7' } });
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url))));
    expect(f.type).toBe(DeliveryFailureType.Retryable);
    expect(f.details).toMatchObject({ status_code: 429, retry_after_ms: 7000 });
  });

  it('when the receiver answers 503 with Retry-After as a date then retry_after_ms counts down to it', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    const url = receiver.route('/503-date', { mode: 'status', status: 503, headers: { 'retry-after': at } });
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url))));
    expect(f.details.retry_after_ms).toBeGreaterThan(110_000);
    expect(f.details.retry_after_ms).toBeLessThanOrEqual(120_000);
  });

  it('when the receiver hangs past the timeout then the failure is a retryable timeout at about the timeout', async () => {
    const url = receiver.route('/hang', { mode: 'hang' });
    const started = Date.now();
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url), { timeout_ms: 400 })));
    const took = Date.now() - started;
    expect(f.type).toBe(DeliveryFailureType.Retryable);
    expect(f.details.error_class).toBe('timeout');
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(2_000);
  });

  it('when the body trickles in past the timeout then the 2xx counts and the snippet keeps what arrived', async () => {
    const url = receiver.route('/slow-body', { mode: 'slow_body', chunks: 50, intervalMs: 100 });
    const started = Date.now();
    const receipt = await runActivity(deps, 'deliverHttp', request(http(url), { timeout_ms: 450 }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(receipt.status_code).toBe(200);
    expect(receipt.body_snippet).toMatch(/^chunk-0;chunk-1;/);
    expect(receipt.body_snippet).not.toMatch(/chunk-10;/);
  });

  it('when the body is larger than the caps then only the capped snippet is kept', async () => {
    const url = receiver.route('/big', { mode: 'big_body', bytes: 5_000_000 });
    const receipt = await runActivity(deps, 'deliverHttp', request(http(url)));
    expect(receipt.status_code).toBe(200);
    expect(receipt.body_snippet).toBe('x'.repeat(64));
  });

  it('when nothing listens on the port then the failure is a retryable ECONNREFUSED', async () => {
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(await refusedUrl('/gone')))));
    expect(f.type).toBe(DeliveryFailureType.Retryable);
    expect(f.details.error_class).toBe('ECONNREFUSED');
  });

  it('when the receiver redirects and redirects are off then the failure is permanent and says where it pointed', async () => {
    const target = receiver.route('/moved-here', { mode: 'succeed' });
    const url = receiver.route('/moved', { mode: 'redirect', location: '/moved-here', status: 308 });
    const f = await failureOf(runActivity(deps, 'deliverHttp', request(http(url))));
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.details).toMatchObject({ error_class: 'redirect', status_code: 308 });
    expect(f.message).toContain(target);
    expect(f.message).toContain('HTTP_MAX_REDIRECTS=0');
    expect(receiver.requests('/moved-here')).toHaveLength(0);
  });
});

describe('HTTP delivery: redirects and the SSRF guard', () => {
  let following: DeliveryDeps;
  beforeAll(() => {
    following = testDeps({ HTTP_MAX_REDIRECTS: '2', ...noBreaker });
  });
  afterAll(() => following.close());

  it('when redirects are allowed then a 307 is followed with the same method, body and headers', async () => {
    receiver.route('/final', { mode: 'succeed' });
    const url = receiver.route('/hop', { mode: 'redirect', location: '/final', status: 307 });
    const req = request(http(url));
    const receipt = await runActivity(following, 'deliverHttp', req);
    expect(receipt.status_code).toBe(200);
    const [got] = receiver.requests('/final');
    expect(got?.method).toBe('POST');
    expect(got?.body).toBe(req.message_data);
    expect(got?.headers['idempotency-key']).toBe(req.task_id);
  });

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', 'http://10.0.0.7:8080/'],
    ['another loopback address', 'http://127.0.0.2:9/'],
  ])(
    'when the receiver redirects to %s then the delivery is refused permanently as ssrf_blocked',
    async (_, location) => {
      const url = receiver.route(`/to-${new URL(location).hostname}`, { mode: 'redirect', location, status: 302 });
      const f = await failureOf(runActivity(following, 'deliverHttp', request(http(url))));
      expect(f.type).toBe(DeliveryFailureType.Permanent);
      expect(f.details.error_class).toBe('ssrf_blocked');
      expect(f.message).toContain(new URL(location).hostname);
    },
  );

  it('when loopback is not allowed then both a literal address and a name resolving to it are refused and nothing is sent', async () => {
    const strict = testDeps({ SSRF_ALLOW: '' });
    try {
      const url = receiver.route('/private', { mode: 'succeed' });
      const byName = url.replace('127.0.0.1', 'localhost');
      for (const target of [url, byName]) {
        const f = await failureOf(runActivity(strict, 'deliverHttp', request(http(target))));
        expect(f.type).toBe(DeliveryFailureType.Permanent);
        expect(f.details.error_class).toBe('ssrf_blocked');
        expect(f.message).toMatch(/loopback/);
      }
      expect(receiver.requests('/private')).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('when a host passes the submit-time check but resolves to loopback at connect time then the delivery is refused (no DNS-rebinding window)', async () => {
    const url = receiver.route('/rebind', { mode: 'succeed' });
    const port = new URL(url).port;
    let lookups = 0;
    // A rebinding name server: public on the first answer, loopback afterwards.
    const resolveAll = async () => [{ address: ++lookups === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    const target = `http://rebind.example:${port}/rebind`;
    expect(await checkUrlAllowed(target, [], resolveAll)).toBeUndefined();

    const rebinding = testDeps({ SSRF_ALLOW: '' }, { http: createHttpClient({ ssrfAllow: [], resolveAll }) });
    try {
      const f = await failureOf(runActivity(rebinding, 'deliverHttp', request(http(target))));
      expect(f.type).toBe(DeliveryFailureType.Permanent);
      expect(f.details.error_class).toBe('ssrf_blocked');
      expect(f.message).toContain('rebind.example resolves to 127.0.0.1');
      expect(receiver.requests('/rebind')).toHaveLength(0);
    } finally {
      await rebinding.close();
    }
  });

  it.each([
    'http://127.0.0.1/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/',
    'http://[::1]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0.0.0.0/',
    'http://localhost/',
    'ftp://example.com/',
  ])('when the API checks %s at submit time then it is refused with a reason', async (url) => {
    expect(await checkUrlAllowed(url, [])).toEqual(expect.any(String));
  });

  it('when the allow-list names an address, a range or a host then those are accepted at submit time', async () => {
    expect(await checkUrlAllowed('http://8.8.8.8/', [])).toBeUndefined();
    expect(await checkUrlAllowed('http://127.0.0.1:8080/', ['127.0.0.1'])).toBeUndefined();
    expect(await checkUrlAllowed('http://10.9.8.7/', ['10.0.0.0/8'])).toBeUndefined();
    expect(await checkUrlAllowed('http://10.9.8.7/', ['10.0.0.0/16'])).toMatch(/private/);
    expect(await checkUrlAllowed('http://localhost:3000/', ['localhost'])).toBeUndefined();
    expect(await checkUrlAllowed('http://[::1]:3000/', ['::1'])).toBeUndefined();
  });
});

describe('HTTP delivery: heartbeats and cancellation', () => {
  it('when a request is in flight then the activity heartbeats every 2 s, the first after 2 s', async () => {
    const url = receiver.route('/hang-hb', { mode: 'hang' });
    const env = activityEnv();
    const started = Date.now();
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(Date.now() - started));
    await failureOf(runActivity(deps, 'deliverHttp', request(http(url), { timeout_ms: 5_000 }), env));
    // Not at once: a burst of sends must not wait behind a heartbeat each (activities/in-flight.ts).
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]).toBeGreaterThanOrEqual(1_900);
  });

  it('when the activity is cancelled mid-request then the request is aborted at once and the activity reports cancellation', async () => {
    const url = receiver.route('/hang-cancel', { mode: 'hang' });
    const env = activityEnv();
    const started = Date.now();
    const running = runActivity(deps, 'deliverHttp', request(http(url), { timeout_ms: 30_000 }), env);
    setTimeout(() => env.cancel('CANCELLED'), 300);
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
