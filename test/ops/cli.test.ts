import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, ExitCode } from '../../cli/commands';
import { freePort } from '../../scripts/stack/process';
import { ReceiverServer } from '../../testkit/http-receiver';

/**
 * retryctl is a client of the REST API, so it is tested against a small real HTTP server that answers like the API
 * (shapes from api/schemas.ts) and records every request: the test asserts what the CLI sends and what it prints.
 */

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  body?: unknown;
}
type Answer = { status?: number; body: unknown };
type Handler = (req: Recorded) => Answer | undefined;

let server: ReceiverServer;
let baseUrl: string;
let requests: Recorded[] = [];
let handler: Handler = () => undefined;

beforeAll(async () => {
  server = await ReceiverServer.start((arrival, res) => {
    const url = new URL(arrival.url, 'http://x');
    const recorded: Recorded = {
      method: arrival.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: arrival.headers.authorization,
      body: arrival.body ? (JSON.parse(arrival.body) as unknown) : undefined,
    };
    requests.push(recorded);
    const answer = handler(recorded) ?? {
      status: 404,
      body: { error: `no route ${recorded.method} ${url.pathname}` },
    };
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  baseUrl = server.origin;
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  requests = [];
  handler = () => undefined;
});

/** A stream that keeps what is written; `tty` makes progress bars render as on a terminal. */
function sink(tty = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  if (tty) {
    stream.isTTY = true;
    stream.columns = 120;
  }
  return { stream, text: () => chunks.join('') };
}

async function retryctl(args: string[], opts: { env?: NodeJS.ProcessEnv; ttyStderr?: boolean } = {}) {
  const stdout = sink();
  const stderr = sink(opts.ttyStderr);
  const code = await runCli(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: opts.env ?? { RETRY_API_URL: baseUrl },
    watchIntervalMs: 5,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const summary = (id: string, extra: object = {}) => ({
  task_id: id,
  run_id: `run-${id}`,
  state: 'waiting_retry',
  destination_type: 'http',
  client_id: 'acme',
  source: 'billing',
  attempt: 2,
  next_attempt_at: '2030-01-01T00:00:00.000Z',
  is_priority: false,
  workflow_status: 'RUNNING',
  start_time: '2029-12-31T23:00:00.000Z',
  ...extra,
});

const job = (extra: object = {}) => ({
  job_id: 'job-1',
  kind: 'requeue',
  state: 'running',
  total: 5,
  done: 0,
  skipped: 0,
  failed: 0,
  skipped_reasons: { 'task is not dead-lettered; it is scheduled': 1 },
  skipped_sample: [],
  failed_sample: [],
  rate: 2,
  started_at: '2029-12-31T23:00:00.000Z',
  ...extra,
});

describe('retryctl tasks', () => {
  it('lists tasks with the filters as query parameters and the API key as Bearer token', async () => {
    handler = (r) =>
      r.path === '/tasks' ? { body: { items: [summary('t-1'), summary('t-2')], next_page_token: 'tok2' } } : undefined;
    const { code, stdout } = await retryctl([
      '--api',
      baseUrl,
      '--api-key',
      'sekret',
      'tasks',
      'list',
      '--status',
      'waiting_retry,dead_lettered',
      '--destination-type',
      'http',
      '--client-id',
      'acme',
      '--source',
      'billing',
      '--page-size',
      '2',
    ]);
    expect(code).toBe(ExitCode.Ok);
    expect(requests).toEqual([
      {
        method: 'GET',
        path: '/tasks',
        query: {
          status: 'waiting_retry,dead_lettered',
          destination_type: 'http',
          client_id: 'acme',
          source: 'billing',
          page_size: '2',
        },
        authorization: 'Bearer sekret',
        body: undefined,
      },
    ]);
    expect(stdout).toMatch(/TASK ID\s+│\s+STATE\s+│\s+TYPE\s+│\s+CLIENT/);
    expect(stdout).toMatch(
      /t-1\s+│\s+waiting_retry\s+│\s+http\s+│\s+acme\s+│\s+billing\s+│\s+2\s+│\s+2030-01-01T00:00:00Z/,
    );
    expect(stdout).toContain('t-2');
    expect(stdout).toContain('2 task(s); more: retryctl tasks list --page-token tok2');
  });

  it('follows next_page_token with --all and prints every row once', async () => {
    handler = (r) => {
      if (r.path !== '/tasks') return undefined;
      if (!r.query.page_token) return { body: { items: [summary('a')], next_page_token: 'p2' } };
      if (r.query.page_token === 'p2') return { body: { items: [summary('b')], next_page_token: 'p3' } };
      return { body: { items: [summary('c')], next_page_token: null } };
    };
    const { code, stdout } = await retryctl(['--json', 'tasks', 'list', '--all']);
    expect(code).toBe(ExitCode.Ok);
    expect(requests.map((r) => r.query.page_token)).toEqual([undefined, 'p2', 'p3']);
    const page = JSON.parse(stdout) as { items: { task_id: string }[]; next_page_token: null };
    expect(page.items.map((t) => t.task_id)).toEqual(['a', 'b', 'c']);
    expect(page.next_page_token).toBeNull();
  });

  it('takes the API URL and key from RETRY_API_URL and RETRY_API_KEY', async () => {
    handler = () => ({ body: { items: [], next_page_token: null } });
    const { code, stdout } = await retryctl(['tasks', 'list'], {
      env: { RETRY_API_URL: `${baseUrl}/`, RETRY_API_KEY: 'from-env' },
    });
    expect(code).toBe(ExitCode.Ok);
    expect(requests[0]).toMatchObject({ path: '/tasks', authorization: 'Bearer from-env' });
    expect(stdout).toContain('no tasks match');
  });

  it('shows a task with its details, dead letter and attempt log, or the API answer verbatim with --json', async () => {
    const status = {
      task_id: 'order 42/x',
      state: 'dead_lettered',
      destination_type: 'http',
      attempt: 2,
      max_attempts: 2,
      submitted_at: '2030-01-01T00:00:00.000Z',
      last_error: 'HTTP 503',
      last_status_code: 503,
      dead_letter: { reason: 'exhausted', delivered: false, parked_until: '2030-01-08T00:00:00.000Z' },
      requeues: 1,
      details: 'dead-lettered (exhausted) after 2 attempt(s)',
      attempts: [
        {
          number: 1,
          target: 'primary',
          started_at: '2030-01-01T00:00:10.000Z',
          duration_ms: 120,
          outcome: 'retryable',
          status_code: 503,
          error: 'HTTP 503',
        },
        {
          number: 2,
          target: 'primary',
          started_at: '2030-01-01T00:00:30.000Z',
          duration_ms: 80,
          outcome: 'retryable',
          error_class: 'timeout',
        },
      ],
      workflow: { run_id: 'r1', status: 'RUNNING', start_time: '2030-01-01T00:00:00.000Z' },
    };
    handler = (r) => (r.path === '/tasks/order%2042%2Fx' ? { body: status } : undefined);

    const human = await retryctl(['tasks', 'show', 'order 42/x']);
    expect(human.code).toBe(ExitCode.Ok);
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/tasks/order%2042%2Fx' });
    expect(human.stdout).toMatch(/state\s+│\s+dead_lettered/);
    expect(human.stdout).toMatch(/attempt\s+│\s+2\/2/);
    expect(human.stdout).toMatch(/dead letter\s+│\s+exhausted; not delivered; parked until 2030-01-08T00:00:00Z/);
    expect(human.stdout).toMatch(
      /1\s+│\s+primary\s+│\s+2030-01-01T00:00:10Z.*│\s+120\s+│\s+retryable\s+│\s+503\s+│\s+HTTP 503/,
    );
    expect(human.stdout).toMatch(/2\s+│\s+primary.*│\s+timeout/);

    const machine = await retryctl(['--json', 'tasks', 'show', 'order 42/x']);
    expect(JSON.parse(machine.stdout)).toEqual(status);
  });

  it('cancels, requeues with merged overrides and retries now with POSTs to the task routes', async () => {
    handler = (r) => ({
      body: { message: `done ${r.path}`, task_id: 't-9', previous_state: 'dead_lettered', state: 'scheduled' },
    });
    expect((await retryctl(['tasks', 'cancel', 't-9', '--reason', 'customer asked'])).code).toBe(ExitCode.Ok);
    const requeue = await retryctl([
      'tasks',
      'requeue',
      't-9',
      '--max-retries',
      '3',
      '--overrides',
      '{"base_delay": 5, "destination": {"url": "https://new.example/hook"}}',
    ]);
    expect(requeue.code).toBe(ExitCode.Ok);
    expect(requeue.stdout).toBe('done /tasks/t-9/requeue (was dead_lettered)\n');
    expect((await retryctl(['tasks', 'retry-now', 't-9'])).code).toBe(ExitCode.Ok);

    expect(requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/tasks/t-9/cancel', { reason: 'customer asked' }],
      [
        'POST',
        '/tasks/t-9/requeue',
        { overrides: { base_delay: 5, destination: { url: 'https://new.example/hook' }, max_retries: 3 } },
      ],
      ['POST', '/tasks/t-9/retry-now', {}],
    ]);
  });

  it('submits a task as JSON with POST /tasks and prints the answer', async () => {
    handler = () => ({
      status: 201,
      body: {
        message: 'Task t-1 scheduled successfully',
        task_id: 't-1',
        run_id: 'r-1',
        status_url: 'http://api/tasks/t-1',
      },
    });
    const task = { id: 't-1', destination_type: 'http', destination: { url: 'https://x.example/hook' } };
    const res = await retryctl(['tasks', 'submit', JSON.stringify(task)]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stdout).toBe('Task t-1 scheduled successfully; status: http://api/tasks/t-1\n');
    expect(requests.map((r) => [r.method, r.path, r.body])).toEqual([['POST', '/tasks', task]]);
  });

  it('submits an ordered task, lists a key and shows where a blocked task stands in it', async () => {
    handler = (req) => {
      if (req.method === 'POST') {
        return {
          status: 201,
          body: { message: 'Task t-2 scheduled successfully', task_id: 't-2', run_id: 'r-2', status_url: 'u' },
        };
      }
      if (req.path === '/tasks')
        return { body: { items: [summary('t-2', { state: 'blocked' })], next_page_token: null } };
      return {
        body: {
          ...summary('t-2'),
          state: 'blocked',
          ordering_key: 'acct-42',
          position: 3,
          blocked_by: 't-1',
          attempts: [],
        },
      };
    };
    const task = { id: 't-2', destination_type: 'http', destination: { url: 'https://x.example/hook' } };
    const submitted = await retryctl([
      'tasks',
      'submit',
      JSON.stringify(task),
      '--ordering-key',
      'acct-42',
      '--on-dead-letter',
      'block',
    ]);
    expect(submitted.code).toBe(ExitCode.Ok);
    expect(requests[0]!.body).toEqual({ ...task, ordering_key: 'acct-42', on_dead_letter: 'block' });
    const listed = await retryctl(['tasks', 'list', '--ordering-key', 'acct-42', '--status', 'blocked']);
    expect(listed.code).toBe(ExitCode.Ok);
    expect(requests[1]!.query).toMatchObject({ ordering_key: 'acct-42', status: 'blocked' });
    const shown = await retryctl(['tasks', 'show', 't-2']);
    expect(shown.stdout).toMatch(/ordering key\s*│?\s*acct-42/);
    expect(shown.stdout).toMatch(/place in key\s*│?\s*3 \(blocked by t-1\)/);
    const bad = await retryctl(['tasks', 'submit', JSON.stringify(task), '--on-dead-letter', 'later']);
    expect(bad.code).toBe(ExitCode.Usage);
    expect(requests).toHaveLength(3);
  });

  it("prints the API's error and field and exits 1 when the API refuses", async () => {
    handler = (r) =>
      r.path.endsWith('/retry-now')
        ? { status: 409, body: { error: 'retry-now only applies while a task waits; it is dead_lettered' } }
        : { status: 400, body: { error: 'max_retries cannot exceed 1000', field: 'overrides.max_retries' } };
    const conflict = await retryctl(['tasks', 'retry-now', 't-1']);
    expect(conflict.code).toBe(ExitCode.ApiError);
    expect(conflict.stderr).toBe('retryctl: retry-now only applies while a task waits; it is dead_lettered\n');

    const invalid = await retryctl(['tasks', 'requeue', 't-1', '--max-retries', '5000']);
    expect(invalid.code).toBe(ExitCode.ApiError);
    expect(invalid.stderr).toContain('max_retries cannot exceed 1000 (field: overrides.max_retries)');
  });

  it('tells the operator to pass a key when the API answers 401', async () => {
    handler = () => ({ status: 401, body: { error: 'missing or invalid API key' } });
    const { code, stderr } = await retryctl(['tasks', 'list']);
    expect(code).toBe(ExitCode.ApiError);
    expect(stderr).toContain('pass --api-key or set RETRY_API_KEY');
  });

  it('exits 3 naming the URL when the API cannot be reached', async () => {
    const port = await freePort();
    const { code, stderr } = await retryctl(['--api', `http://127.0.0.1:${port}`, 'tasks', 'show', 'x']);
    expect(code).toBe(ExitCode.Unreachable);
    expect(stderr).toContain(`cannot reach the API at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('rejects bad arguments before sending anything', async () => {
    const badJson = await retryctl(['tasks', 'requeue', 't-1', '--overrides', '{not json']);
    expect(badJson.code).toBe(ExitCode.Usage);
    expect(badJson.stderr).toContain('must be a JSON object');
    const badType = await retryctl(['tasks', 'list', '--destination-type', 'smtp']);
    expect(badType.code).toBe(ExitCode.Usage);
    const unknown = await retryctl(['tasks', 'explode']);
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(requests).toEqual([]);
  });
});

describe('retryctl dead-letters', () => {
  it('lists dead letters through GET /dead-letters with the filters', async () => {
    handler = (r) =>
      r.path === '/dead-letters'
        ? { body: { items: [summary('d-1', { state: 'dead_letter_failed' })], next_page_token: null } }
        : undefined;
    const { code, stdout } = await retryctl([
      'dead-letters',
      'list',
      '--status',
      'dead_letter_failed',
      '--source',
      'billing',
    ]);
    expect(code).toBe(ExitCode.Ok);
    expect(requests[0]).toMatchObject({
      method: 'GET',
      path: '/dead-letters',
      query: { status: 'dead_letter_failed', source: 'billing' },
    });
    expect(stdout).toMatch(/d-1\s+│\s+dead_letter_failed/);
    expect(stdout).toContain('1 task(s)\n');
  });

  it('asks the API to count with --dry-run and changes nothing', async () => {
    handler = (r) =>
      r.path === '/dead-letters/requeue' ? { body: { dry_run: true, count: 17, sample: ['a', 'b'] } } : undefined;
    const { code, stdout } = await retryctl([
      'dead-letters',
      'requeue',
      '--dry-run',
      '--client-id',
      'acme',
      '--destination-type',
      'kafka',
    ]);
    expect(code).toBe(ExitCode.Ok);
    expect(requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/dead-letters/requeue',
        body: { filter: { destination_type: 'kafka', client_id: 'acme' }, dry_run: true, limit: 1000 },
      }),
    ]);
    expect(stdout).toBe('dry run: 17 task(s) would be touched (e.g. a, b)\n');
  });

  it('starts a requeue job for a filter and follows it with a progress bar until it is over', async () => {
    let reads = 0;
    handler = (r) => {
      if (r.path === '/dead-letters/requeue') {
        return { status: 202, body: { job_id: 'job-1', status_url: `${baseUrl}/jobs/job-1` } };
      }
      if (r.path === '/jobs/job-1') {
        reads++;
        return { body: job({ state: reads < 3 ? 'running' : 'completed', done: reads < 3 ? 2 : 4, skipped: 1 }) };
      }
      return undefined;
    };
    const { code, stdout, stderr } = await retryctl(
      ['dead-letters', 'requeue', '--status', 'dead_lettered', '--reason', 'receiver fixed'],
      { ttyStderr: true },
    );
    expect(code).toBe(ExitCode.Ok);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      body: { filter: { status: ['dead_lettered'] }, dry_run: false, reason: 'receiver fixed', limit: 1000 },
    });
    expect(reads).toBe(3);
    expect(stderr).toContain('5/5 tasks | 100% | done 4 skipped 1 failed 0');
    expect(stdout).toMatch(/^job job-1 \(requeue\): completed\n/);
    expect(stdout).toContain('skipped 1: task is not dead-lettered; it is scheduled');
  });

  it('requeues the given ids and prints the finished job as JSON with --json', async () => {
    handler = (r) =>
      r.method === 'POST'
        ? { status: 202, body: { job_id: 'job-2', status_url: `${baseUrl}/jobs/job-2` } }
        : { body: job({ job_id: 'job-2', state: 'completed', done: 3, skipped: 0, total: 3 }) };
    const { code, stdout, stderr } = await retryctl(['--json', 'dead-letters', 'requeue', 'x1', 'x2', 'x3']);
    expect(code).toBe(ExitCode.Ok);
    expect(requests[0]?.body).toEqual({ ids: ['x1', 'x2', 'x3'], dry_run: false });
    expect(JSON.parse(stdout)).toMatchObject({ job_id: 'job-2', state: 'completed', done: 3 });
    expect(stderr).toBe('');
  });

  it('with --detach prints the job id and does not wait', async () => {
    handler = () => ({ status: 202, body: { job_id: 'job-3', status_url: `${baseUrl}/jobs/job-3` } });
    const { code, stdout } = await retryctl(['dead-letters', 'requeue', '--all', '--detach']);
    expect(code).toBe(ExitCode.Ok);
    expect(requests).toHaveLength(1);
    expect(stdout).toBe('job job-3 started; follow it with: retryctl jobs watch job-3\n');
  });

  it('exits 1 with the API error when the job cannot start', async () => {
    handler = () => ({ status: 503, body: { error: 'Temporal is unavailable; try again' } });
    const { code, stderr } = await retryctl(['dead-letters', 'requeue', 'a', 'b']);
    expect(code).toBe(ExitCode.ApiError);
    expect(stderr).toContain('Temporal is unavailable; try again');
  });

  it('refuses to requeue without ids, a filter or --all', async () => {
    const { code, stderr } = await retryctl(['dead-letters', 'requeue']);
    expect(code).toBe(ExitCode.Usage);
    expect(stderr).toContain('give task ids, a filter');
    const both = await retryctl(['dead-letters', 'requeue', 'a', '--all']);
    expect(both.code).toBe(ExitCode.Usage);
    expect(requests).toEqual([]);
  });
});

describe('retryctl jobs', () => {
  it('lists jobs, shows one, and cancels one then follows it until it stops', async () => {
    let cancelled = false;
    handler = (r) => {
      if (r.path === '/jobs') return { body: { items: [job({ state: 'running' })], next_page_token: null } };
      if (r.path === '/jobs/job-1/cancel') {
        cancelled = true;
        return { body: job({ state: 'running' }) };
      }
      if (r.path === '/jobs/job-1') return { body: job({ state: cancelled ? 'cancelled' : 'running' }) };
      return undefined;
    };
    const list = await retryctl(['jobs', 'list']);
    expect(list.code).toBe(ExitCode.Ok);
    expect(list.stdout).toMatch(/job-1\s+│\s+requeue\s+│\s+running/);
    const show = await retryctl(['jobs', 'show', 'job-1']);
    expect(show.stdout).toMatch(/^job job-1 \(requeue\): running\n/);
    const cancel = await retryctl(['jobs', 'cancel', 'job-1', '--reason', 'wrong filter']);
    expect(cancel.code).toBe(ExitCode.Ok);
    expect(requests.find((r) => r.path === '/jobs/job-1/cancel')?.body).toEqual({ reason: 'wrong filter' });
    expect(cancel.stdout).toMatch(/^job job-1 \(requeue\): cancelled\n/);
  });

  it('watch exits 1 for an unknown job', async () => {
    handler = () => ({ status: 404, body: { error: 'job job-x not found' } });
    const { code, stderr } = await retryctl(['jobs', 'watch', 'job-x']);
    expect(code).toBe(ExitCode.ApiError);
    expect(stderr).toContain('job job-x not found');
  });
});

describe('bin/retryctl.js', () => {
  it('runs the TypeScript CLI as a real process and sets the exit code', async () => {
    handler = (r) =>
      r.path === '/tasks/t-bin'
        ? { body: { task_id: 't-bin', state: 'succeeded', attempts: [] } }
        : { status: 404, body: { error: 'task t-missing not found' } };
    const bin = path.resolve(__dirname, '../../bin/retryctl.js');
    const run = promisify(execFile);
    const env = { ...process.env, RETRY_API_URL: baseUrl, RETRY_API_KEY: 'k' };
    const ok = await run(process.execPath, [bin, '--json', 'tasks', 'show', 't-bin'], { env });
    expect(JSON.parse(ok.stdout)).toEqual({ task_id: 't-bin', state: 'succeeded', attempts: [] });
    expect(requests[0]?.authorization).toBe('Bearer k');

    const missing = await run(process.execPath, [bin, 'tasks', 'show', 't-missing'], { env }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(missing).toMatchObject({ code: 1, stderr: 'retryctl: task t-missing not found\n' });
  });
});
