import type { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeliveryDeps, type DeliveryDeps } from '../../activities';
import { retryWorkerActivities } from '../../worker/activities';
import { createIngress, type Ingress, type IngressOptions } from '../../ingress/consumer';
import { HttpReceiver } from '../support/http-receiver';
import { RetryHeader } from '../../sdk/headers';
import { retryNowUpdate } from '../../domain/messages';
import { retryableHandler } from '../../sdk/retryable-handler';
import { loadConfig } from '../../platform/config';
import { createWorker } from '../../worker/worker';
import {
  brokers,
  connectTemporal,
  createTopics,
  ingressCount,
  logger,
  produce,
  readTopic,
  rewindGroup,
  testKafka,
  testMetrics,
  unique,
  until,
} from './support';

/** End to end: Kafka → ingress → retryTask workflow (real worker, real delivery activities) → Kafka. */

let kafka: Kafka;
let producer: Producer;
let client: Client;
let connection: Connection;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  kafka = testKafka();
  producer = kafka.producer();
  await producer.connect();
  ({ client, connection } = await connectTemporal());
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await producer.disconnect();
  await connection.close();
  await nativeConnection.close();
});

/**
 * Fresh topics, group and task queue; a worker and an ingress that run for the duration of `fn`. `ingressOptions`
 * adds ingress options; its `ssrfAllow` applies to the worker's deliveries too.
 */
async function withService(
  fn: (s: Service) => Promise<void>,
  ingressOptions: Partial<IngressOptions> = {},
): Promise<void> {
  const id = unique('e2e');
  const config = loadConfig({
    KAFKA_BROKERS: brokers().join(','),
    LOG_LEVEL: 'silent',
    ...(ingressOptions.ssrfAllow ? { SSRF_ALLOW: ingressOptions.ssrfAllow.join(',') } : {}),
  });
  const metrics = testMetrics();
  const s = {
    id,
    retryTopic: `${id}.requests`,
    tierPrefix: `${id}.delay.`,
    target: `${id}.target`,
    groupId: `${id}-group`,
    metrics,
  };
  const newIngress = () =>
    createIngress({
      brokers: brokers(),
      client,
      taskQueue: `${id}-queue`,
      groupId: s.groupId,
      retryTopic: s.retryTopic,
      tierPrefix: s.tierPrefix,
      tiers: ['5s', '5m'],
      dlqTopic: `${id}.dlq`,
      logger,
      metrics,
      ...ingressOptions,
    });
  await createTopics(kafka, [s.retryTopic, `${s.tierPrefix}5s`, `${s.tierPrefix}5m`, s.target], 1);
  const deps: DeliveryDeps = createDeliveryDeps({ config, logger });
  const worker: Worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    config,
    logger,
    activities: retryWorkerActivities({ deps, client }),
    workflowBundlePath: inject('workflowBundlePath'),
    taskQueue: `${id}-queue`,
  });
  let ingress: Ingress = newIngress();
  try {
    await worker.runUntil(async () => {
      await ingress.start();
      await fn({
        ...s,
        async restartIngress(beforeStart) {
          await ingress.stop();
          await beforeStart();
          ingress = newIngress();
          await ingress.start();
        },
      });
    });
  } finally {
    await ingress.stop();
    await deps.close();
  }
}
interface Service {
  id: string;
  retryTopic: string;
  tierPrefix: string;
  target: string;
  groupId: string;
  metrics: ReturnType<typeof testMetrics>;
  restartIngress(beforeStart: () => Promise<void>): Promise<void>;
}

describe('Kafka ingress end to end', () => {
  it('delivers a retry-request JSON task to its target topic after the backoff', async () => {
    await withService(async (s) => {
      const target = await readTopic(kafka, s.target);
      try {
        const sentAt = Date.now();
        await produce(producer, s.retryTopic, [
          {
            value: JSON.stringify({
              id: `${s.id}-json`,
              source: 'orders',
              client_id: 'c1',
              destination_type: 'kafka',
              destination: { brokers: brokers(), topic: s.target },
              message_data: '{"order":1}',
              key: 'order-1',
              headers: { 'trace-id': 't-1' },
              max_retries: 2,
              base_delay: 1,
            }),
          },
        ]);
        const [delivered] = await target.waitFor(1);
        expect(delivered!.message.value?.toString()).toBe('{"order":1}');
        expect(delivered!.message.key?.toString()).toBe('order-1');
        expect(delivered!.header('trace-id')).toBe('t-1');
        expect(delivered!.header('x-retry-task-id')).toBe(`${s.id}-json`);
        expect(Number(delivered!.message.timestamp) - sentAt).toBeGreaterThanOrEqual(1000);
      } finally {
        await target.close();
      }
    });
  });

  it('delivers a raw payload whose headers carry the task fields, without the control headers', async () => {
    await withService(async (s) => {
      const target = await readTopic(kafka, s.target);
      try {
        const sentAt = Date.now();
        await produce(producer, s.retryTopic, [
          {
            key: 'k-raw',
            value: 'raw payload',
            headers: {
              [RetryHeader.TargetTopic]: s.target,
              [RetryHeader.BaseDelay]: '1',
              [RetryHeader.MaxRetries]: '2',
              'app-header': 'kept',
            },
          },
        ]);
        const [delivered] = await target.waitFor(1);
        expect(delivered!.message.value?.toString()).toBe('raw payload');
        expect(delivered!.message.key?.toString()).toBe('k-raw');
        expect(delivered!.header('app-header')).toBe('kept');
        expect(delivered!.header(RetryHeader.TargetTopic)).toBeUndefined();
        expect(delivered!.header('x-retry-task-id')).toBe(`kafka-${s.retryTopic}-0-0`);
        expect(Number(delivered!.message.timestamp) - sentAt).toBeGreaterThanOrEqual(1000);
      } finally {
        await target.close();
      }
    });
  });

  it('delivers a 5 s tier-topic message to its target topic about 5 s after its timestamp', async () => {
    await withService(async (s) => {
      const target = await readTopic(kafka, s.target);
      try {
        const timestamp = Date.now();
        await produce(producer, `${s.tierPrefix}5s`, [
          { value: 'later', timestamp: String(timestamp), headers: { [RetryHeader.TargetTopic]: s.target } },
        ]);
        const [delivered] = await target.waitFor(1, 30_000);
        const delayMs = Number(delivered!.message.timestamp) - timestamp;
        expect(delivered!.message.value?.toString()).toBe('later');
        expect(delayMs).toBeGreaterThanOrEqual(5000);
        expect(delayMs).toBeLessThan(9000);
      } finally {
        await target.close();
      }
    });
  });

  it('honours a future process-at header on a tier topic instead of the tier delay', async () => {
    await withService(async (s) => {
      const target = await readTopic(kafka, s.target);
      try {
        const timestamp = Date.now();
        const processAt = timestamp + 2500;
        await produce(producer, `${s.tierPrefix}5m`, [
          {
            value: 'at a time',
            timestamp: String(timestamp),
            headers: {
              [RetryHeader.TargetTopic]: s.target,
              [RetryHeader.ProcessAt]: new Date(processAt).toISOString(),
            },
          },
        ]);
        const [delivered] = await target.waitFor(1, 30_000);
        const deliveredAt = Number(delivered!.message.timestamp);
        expect(deliveredAt).toBeGreaterThanOrEqual(processAt);
        // On the 5-minute tier topic: arriving at all within the wait shows the header, not the tier, set the time.
        expect(deliveredAt).toBeLessThan(timestamp + 300_000);
      } finally {
        await target.close();
      }
    });
  });

  it('delivers a message consumed twice (consumer restarted before its commit counted) exactly once', async () => {
    await withService(async (s) => {
      const target = await readTopic(kafka, s.target);
      try {
        await produce(producer, s.retryTopic, [
          {
            value: 'once',
            headers: {
              [RetryHeader.TargetTopic]: s.target,
              [RetryHeader.BaseDelay]: '1',
              [RetryHeader.MessageId]: `${s.id}-m`,
            },
          },
        ]);
        await target.waitFor(1);
        // The group forgets its progress and reads the message again.
        await s.restartIngress(() => rewindGroup(kafka, s.groupId, s.retryTopic));
        await until(async () => (await ingressCount(s.metrics, 'duplicate')) === 1, 30_000, 'the duplicate');
        await new Promise((resolve) => setTimeout(resolve, 2500)); // longer than the task's backoff
        expect(target.received).toHaveLength(1);
        expect(await ingressCount(s.metrics, 'started')).toBe(1);
        const runs = [];
        for await (const wf of client.workflow.list({ query: `WorkflowId = "${s.id}-m"` })) runs.push(wf.runId);
        expect(runs).toHaveLength(1);
      } finally {
        await target.close();
      }
    });
  });

  it('turns a throwing application handler into a hand-off that comes back after the backoff, while the app goes on', async () => {
    await withService(async (s) => {
      const appTopic = s.target;
      const handled: { value: string; attempt?: string; at: number }[] = [];
      let failedAt = 0;
      const app = kafka.consumer({ groupId: `${s.id}-app`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
      await app.connect();
      await app.subscribe({ topics: [appTopic], fromBeginning: true });
      await app.run({
        eachMessage: retryableHandler(
          async ({ message }) => {
            const value = message.value!.toString();
            const attempt = message.headers?.[RetryHeader.Attempt]?.toString();
            if (value === 'flaky' && attempt === undefined) {
              failedAt = Date.now();
              throw new Error('downstream timeout');
            }
            handled.push({ value, attempt, at: Date.now() });
          },
          {
            producer,
            name: `${s.id}-app`,
            brokers: brokers(),
            retryRequestTopic: s.retryTopic,
            backoff: { initialDelaySeconds: 1 },
          },
        ),
      });
      try {
        await produce(producer, appTopic, [{ value: 'flaky' }, { value: 'next' }]);
        await until(() => handled.length === 2, 30_000, 'the retried message to come back');
        expect(handled.map((h) => h.value)).toEqual(['next', 'flaky']);
        const retried = handled[1]!;
        expect(retried.attempt).toBe('1');
        expect(retried.at - failedAt).toBeGreaterThanOrEqual(1000);
        // The app did not wait for the retry: the next message was handled before the retried one came back.
        expect(handled[0]!.at).toBeLessThan(failedAt + 1000);
      } finally {
        await app.disconnect();
      }
    });
  });

  it('starts the records of one ordering key in offset order; a failing head holds only its own key', async () => {
    const receiver = await HttpReceiver.start();
    try {
      await withService(
        async (s) => {
          // Key A (record key) and key C (header) interleaved with key B (record key). A's head keeps failing until
          // keys B and C are delivered; then its destination recovers and a retry-now sends it.
          const headPath = `/${s.id}/a-head`;
          const headA = receiver.route(headPath, { mode: 'status', status: 503 });
          const path = (k: string) => `/${s.id}/${k}`;
          const urls = Object.fromEntries(
            (['a', 'b', 'c'] as const).map((k) => [k, receiver.route(path(k), { mode: 'succeed' })]),
          ) as Record<'a' | 'b' | 'c', string>;
          const messages = [];
          for (let seq = 0; seq < 20; seq++) {
            for (const k of ['a', 'b', 'c'] as const) {
              const head = k === 'a' && seq === 0;
              messages.push({
                key: k === 'c' ? `other-${seq}` : `${s.id}-${k}`,
                value: JSON.stringify({ seq }),
                headers: {
                  [RetryHeader.TargetUrl]: head ? headA : urls[k],
                  [RetryHeader.BaseDelay]: head ? '1' : '0',
                  [RetryHeader.MaxRetries]: head ? '12' : '3',
                  ...(k === 'c' ? { [RetryHeader.OrderingKey]: `${s.id}-c` } : {}),
                },
              });
            }
          }
          await produce(producer, s.retryTopic, messages);
          const seqs = (p: string) => receiver.requests(p).map((r) => (JSON.parse(r.body) as { seq: number }).seq);
          const all = Array.from({ length: 20 }, (_, i) => i);
          await until(
            () =>
              receiver.requests(headPath).length >= 2 && seqs(path('b')).length === 20 && seqs(path('c')).length === 20,
            300_000,
            'keys B and C delivered while the head of key A fails',
          );
          expect(seqs(path('a'))).toEqual([]);
          receiver.route(headPath, { mode: 'succeed' });
          await client.workflow.getHandle(`kafka-${s.retryTopic}-0-0`).executeUpdate(retryNowUpdate, { args: [] });
          await until(() => seqs(path('a')).length === 19, 300_000, 'key A delivered after its head');
          expect(seqs(path('a'))).toEqual(all.slice(1));
          expect(seqs(path('b'))).toEqual(all);
          expect(seqs(path('c'))).toEqual(all);
          expect(receiver.requests(path('a'))[0]!.at).toBeGreaterThanOrEqual(receiver.requests(headPath)[0]!.at);
        },
        { orderingFromRecordKey: true, ssrfAllow: ['127.0.0.1'] },
      );
    } finally {
      await receiver.stop();
    }
  }, 700_000);
});
