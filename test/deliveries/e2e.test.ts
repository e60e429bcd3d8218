import net, { type AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeliveryDeps } from '../../activities';
import { retryWorkerActivities } from '../../worker/activities';
import { startTask } from '../../client/tasks';
import { readLiveStatus } from '../../client/series-progress';
import { cancelSignal } from '../../domain/messages';
import { AttemptOutcome, TaskState, type TaskStatus } from '../../domain/status';
import { TaskInput, type Task, type TaskRequest } from '../../domain/task';
import { DestinationGuards } from '../../destinations/guard';
import { createWorker } from '../../worker/worker';
import { freePort } from '../../scripts/stack/process';
import { HttpReceiver } from '../support/http-receiver';
import { createTopics } from '../ingress/support';
import { taskId, testDeps } from './helpers';

/**
 * End to end: the real retry workflow on the dev server, a real worker with the real delivery activities, a real
 * HTTP receiver and the provisioned Kafka broker.
 */
const brokers = inject('kafkaBrokers');
const [kafkaHost, kafkaPort] = brokers[0]!.split(':') as [string, string];
let env: TestWorkflowEnvironment;
let receiver: HttpReceiver;
const kafka = new Kafka({ clientId: 'e2e-test', brokers, logLevel: logLevel.NOTHING });

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  receiver = await HttpReceiver.start();
});
afterAll(async () => {
  await receiver?.stop();
  await env?.teardown();
});

/** Runs `body` with a worker (own task queue) over the real activities built from `deps`. */
async function withWorker<T>(deps: DeliveryDeps, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `deliveries-e2e-${taskId('q')}`;
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    config: deps.config,
    logger: deps.logger,
    activities: retryWorkerActivities({ deps, client: env.client }),
    workflowBundlePath: inject('workflowBundlePath'),
    taskQueue,
  });
  try {
    return await worker.runUntil(body(taskQueue));
  } finally {
    await deps.close();
  }
}

function task(over: Partial<TaskRequest> & Pick<TaskRequest, 'destination_type' | 'destination'>): Task {
  return TaskInput.parse({
    id: taskId('e2e'),
    source: 'e2e',
    client_id: 'client-e2e',
    message_data: JSON.stringify({ hello: 'world' }),
    max_retries: 3,
    base_delay: 0.2,
    park_retention: 0,
    ...over,
  } as TaskRequest);
}

async function run(taskQueue: string, t: Task): Promise<TaskStatus> {
  await startTask(env.client, taskQueue, t);
  return env.client.workflow.getHandle(t.id).result() as Promise<TaskStatus>;
}

async function consumeOne(topic: string) {
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise<{ value: string; key?: string; headers: Record<string, string> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing on ${topic} within 30 s`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve({
              value: message.value?.toString() ?? '',
              key: message.key?.toString(),
              headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
            });
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

const topicName = (what: string) => `e2e-${what}-${taskId('t').replace(/[^A-Za-z0-9-]/g, '')}`;

describe('retry workflow with the real delivery activities', () => {
  it('when the HTTP receiver fails twice then the task succeeds at attempt 3 with one Idempotency-Key', async () => {
    const url = receiver.route('/e2e-flaky', { mode: 'fail_then_succeed', failures: 2 });
    const t = task({ destination_type: 'http', destination: { url } });
    const status = await withWorker(testDeps(), (q) => run(q, t));

    expect(status.state).toBe(TaskState.Succeeded);
    expect(status.attempt).toBe(3);
    expect(status.attempts.map((a) => [a.number, a.outcome, a.status_code])).toEqual([
      [1, AttemptOutcome.Retryable, 503],
      [2, AttemptOutcome.Retryable, 503],
      [3, AttemptOutcome.Success, 200],
    ]);
    const got = receiver.requests('/e2e-flaky');
    expect(got.map((r) => r.headers['x-message-key'])).toEqual([`${t.id}|1`, `${t.id}|2`, `${t.id}|3`]);
    expect(new Set(got.map((r) => r.headers['idempotency-key']))).toEqual(new Set([t.id]));
  });

  it('with base_delay 0 the task retries at once rather than ending after its first failure', async () => {
    // A zero wait asked of the server as the next retry delay ended the activity's retries (dead-lettered at attempt 1).
    const url = receiver.route('/e2e-no-delay', { mode: 'fail_then_succeed', failures: 2 });
    const t = task({ destination_type: 'http', destination: { url }, base_delay: 0 });
    const status = await withWorker(testDeps(), (q) => run(q, t));
    expect(status.state).toBe(TaskState.Succeeded);
    expect(status.attempts.map((a) => [a.number, a.outcome])).toEqual([
      [1, AttemptOutcome.Retryable],
      [2, AttemptOutcome.Retryable],
      [3, AttemptOutcome.Success],
    ]);
  });

  it('when the Kafka brokers are unreachable twice then the task succeeds at attempt 3 and the record arrives', async () => {
    // A TCP front for the broker that refuses connections until the test opens it.
    let open = false;
    const proxy = net.createServer((client) => {
      if (!open) {
        client.destroy();
        return;
      }
      const upstream = net.connect(Number(kafkaPort), kafkaHost);
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { port } = proxy.address() as AddressInfo;
    const topic = topicName('flaky');
    // Created up front: this test is about unreachable brokers. Left to auto-creation on attempt 3, the new topic's
    // leader election (UNKNOWN_TOPIC_OR_PARTITION) raced the last attempt and failed the task once under load.
    await createTopics(kafka, [topic]);
    const t = task({
      destination_type: 'kafka',
      destination: { host: '127.0.0.1', port, topic },
      key: 'k-flaky',
      base_delay: 0.5,
    });
    try {
      const status = await withWorker(testDeps(), async (q) => {
        await startTask(env.client, q, t);
        const handle = env.client.workflow.getHandle(t.id);
        for (;;) {
          const s = await readLiveStatus(handle);
          if (s.attempts.filter((a) => a.outcome === AttemptOutcome.Retryable).length >= 2) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        open = true;
        return (await handle.result()) as TaskStatus;
      });
      expect(status.state).toBe(TaskState.Succeeded);
      expect(status.attempt).toBe(3);
      expect(status.attempts.slice(0, 2).map((a) => a.error_class)).toEqual(['connection_error', 'connection_error']);
      const record = await consumeOne(topic);
      expect(record).toMatchObject({ value: t.message_data, key: 'k-flaky' });
      expect(record.headers).toMatchObject({ 'x-retry-task-id': t.id, 'x-retry-attempt': '3' });
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('when the HTTP receiver always fails then the dead Kafka topic receives the message with its failure context', async () => {
    const url = receiver.route('/e2e-down', { mode: 'status', status: 503 });
    const deadTopic = topicName('dead');
    const t = task({
      destination_type: 'http',
      destination: { url },
      dead_destination: { host: kafkaHost, port: kafkaPort, topic: deadTopic },
      key: 'k-dead',
      headers: { 'x-original': 'yes' },
      max_retries: 2,
    });
    const status = await withWorker(testDeps(), (q) => run(q, t));

    expect(status.state).toBe(TaskState.DeadLettered);
    expect(status.dead_letter).toMatchObject({ reason: 'exhausted', delivered: true });
    const record = await consumeOne(deadTopic);
    expect(record.value).toBe(t.message_data);
    expect(record.key).toBe('k-dead');
    expect(record.headers).toMatchObject({
      'x-original': 'yes',
      'x-retry-task-id': t.id,
      'x-retry-source': 'e2e',
      'x-retry-reason': 'exhausted',
      'x-retry-attempts': '2',
      'x-retry-last-status': '503',
      'x-retry-original-destination': `POST ${url}`,
    });
    expect(record.headers['x-retry-last-error']).toMatch(/HTTP 503/);
    expect(record.headers['x-retry-first-attempt-at']).toEqual(expect.any(String));
    expect(record.headers['x-retry-last-attempt-at']).toEqual(expect.any(String));
  });

  it('when the Kafka destination always fails then the dead URL receives the message with its failure context', async () => {
    const deadUrl = receiver.route('/e2e-dead-letter', { mode: 'succeed' });
    const deadPort = await freePort();
    const t = task({
      destination_type: 'kafka',
      destination: { host: '127.0.0.1', port: deadPort, topic: 'orders' },
      dead_destination: { url: deadUrl },
      max_retries: 2,
    });
    const status = await withWorker(testDeps(), (q) => run(q, t));

    expect(status.state).toBe(TaskState.DeadLettered);
    expect(status.dead_letter).toMatchObject({ reason: 'exhausted', delivered: true });
    const [got] = receiver.requests('/e2e-dead-letter');
    expect(got?.body).toBe(t.message_data);
    expect(got?.headers).toMatchObject({
      'x-retry-task-id': t.id,
      'x-retry-reason': 'exhausted',
      'x-retry-attempts': '2',
      'x-retry-original-destination': `kafka orders@127.0.0.1:${deadPort}`,
      'x-retry-original-topic': 'orders',
      'idempotency-key': t.id,
    });
    expect(got?.headers['x-retry-last-error']).toMatch(/kafka orders/);
  });

  it('when the receiver answers 410 then the task dead-letters at once with reason permanent', async () => {
    const url = receiver.route('/e2e-gone', { mode: 'status', status: 410 });
    const deadUrl = receiver.route('/e2e-gone-dead', { mode: 'succeed' });
    const t = task({ destination_type: 'http', destination: { url }, dead_destination: { url: deadUrl } });
    const status = await withWorker(testDeps(), (q) => run(q, t));
    expect(status.attempt).toBe(1);
    expect(status.dead_letter).toMatchObject({ reason: 'permanent', delivered: true });
    expect(receiver.requests('/e2e-gone-dead')[0]?.headers).toMatchObject({
      'x-retry-reason': 'permanent',
      'x-retry-last-status': '410',
    });
  });

  it('when the destination circuit opens then the deferral shows in the status and does not burn an attempt', async () => {
    const url = receiver.route('/e2e-breaker', { mode: 'fail_then_succeed', failures: 2 });
    const guards = new DestinationGuards({ consecutiveFailures: 2, halfOpenAfterMs: 1_500, maxConcurrency: 5 });
    const t = task({ destination_type: 'http', destination: { url }, max_retries: 3, base_delay: 0.1 });
    const seen: string[] = [];
    const status = await withWorker(testDeps({}, { guards }), async (q) => {
      await startTask(env.client, q, t);
      const handle = env.client.workflow.getHandle(t.id);
      const result = handle.result() as Promise<TaskStatus>;
      let done = false;
      void result.finally(() => (done = true));
      while (!done) {
        const s = await readLiveStatus(handle);
        if (s.circuit_open_until) seen.push(s.details);
        await new Promise((r) => setTimeout(r, 100));
      }
      return await result;
    });

    expect(status.state).toBe(TaskState.Succeeded);
    expect(status.attempt).toBe(3);
    expect(status.attempts.map((a) => [a.number, a.outcome])).toEqual([
      [1, AttemptOutcome.Retryable],
      [2, AttemptOutcome.Retryable],
      [3, AttemptOutcome.Deferred],
      [3, AttemptOutcome.Success],
    ]);
    expect(receiver.requests('/e2e-breaker')).toHaveLength(3);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toMatch(/^destination circuit open until \S+; attempt 3 deferred/);
  });

  it('when the task is cancelled during a hanging delivery then the request is aborted and the task ends cancelled', async () => {
    const url = receiver.route('/e2e-hang', { mode: 'hang' });
    const t = task({ destination_type: 'http', destination: { url }, base_delay: 0, http_timeout: 120 });
    let cancelLatencyMs = 0;
    const status = await withWorker(testDeps(), async (q) => {
      await startTask(env.client, q, t);
      const handle = env.client.workflow.getHandle(t.id);
      while (receiver.requests('/e2e-hang').length === 0) await new Promise((r) => setTimeout(r, 50));
      const connections = receiver.openConnections;
      const cancelledAt = Date.now();
      await handle.signal(cancelSignal, { reason: 'e2e' });
      const result = (await handle.result()) as TaskStatus;
      // The cancel reaches the activity with a heartbeat response; the SDK throttles heartbeats to 0.8 × the
      // workflow's heartbeatTimeout (15 s), so this takes up to ~12 s.
      cancelLatencyMs = Date.now() - cancelledAt;
      expect(cancelLatencyMs).toBeLessThan(15_000);
      expect(receiver.openConnections).toBeLessThan(connections);
      return result;
    });
    expect(status.state).toBe(TaskState.Cancelled);
    expect(status.attempts.at(-1)?.outcome).toBe(AttemptOutcome.Cancelled);
    console.log(`[e2e] cancel reached the in-flight delivery after ${cancelLatencyMs} ms`);
  });
});
