import type { Client, Connection } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIngress, type Ingress, type IngressOptions } from '../../ingress/consumer';
import { RetryHeader } from '../../sdk/headers';
import type { Metrics } from '../../platform/metrics';
import {
  brokers,
  committedOffsets,
  connectTemporal,
  createTopics,
  ingressCount,
  logger,
  produce,
  readTopic,
  rewindGroup,
  runsById,
  runsOnQueue,
  coordinateIds,
  terminateQueue,
  testKafka,
  testMetrics,
  unique,
  until,
} from './support';

let kafka: Kafka;
let producer: Producer;
let client: Client;
let connection: Connection;
const queues: string[] = [];
const running: Ingress[] = [];

beforeAll(async () => {
  kafka = testKafka();
  producer = kafka.producer();
  await producer.connect();
  ({ client, connection } = await connectTemporal());
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});
afterAll(async () => {
  for (const q of queues) await terminateQueue(client, q);
  await producer.disconnect();
  await connection.close();
});

/** An ingress on fresh topics, group and task queue; no worker polls the queue, so started tasks stay open. */
function setup(over: Partial<IngressOptions> = {}) {
  const id = unique('ing');
  const names = {
    retryTopic: `${id}.requests`,
    tierPrefix: `${id}.delay.`,
    dlqTopic: `${id}.dlq`,
    groupId: `${id}-group`,
  };
  const taskQueue = `${id}-queue`;
  queues.push(taskQueue);
  const metrics = testMetrics();
  const opts: IngressOptions = {
    brokers: brokers(),
    client,
    taskQueue,
    ...names,
    tiers: ['5s'],
    logger,
    metrics,
    ...over,
  };
  return { ...names, taskQueue, metrics, opts, make: () => track(createIngress(opts)) };
}
function track(ingress: Ingress): Ingress {
  running.push(ingress);
  return ingress;
}
const task = (extra: object = {}) =>
  JSON.stringify({
    source: 'test',
    client_id: 'c',
    destination_type: 'kafka',
    destination: { brokers: brokers(), topic: 'nowhere' },
    message_data: 'm',
    max_retries: 1,
    base_delay: 1,
    ...extra,
  });
const waitCount = (metrics: Metrics, result: string, n: number) =>
  until(async () => (await ingressCount(metrics, result)) >= n, 30_000, `${n} ${result}`);

/** A Temporal client whose workflow starts take `delayMs` longer; records their order and peak concurrency. */
function slowStarts(delayMs: number) {
  let inFlight = 0;
  let peak = 0;
  const order: string[] = [];
  const slowClient = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'workflow') return Reflect.get(target, prop, receiver);
      const workflow = target.workflow;
      return new Proxy(workflow, {
        get(w, p, r) {
          if (p !== 'start') return Reflect.get(w, p, r);
          return async (...args: Parameters<typeof workflow.start>) => {
            order.push(String(args[1].workflowId));
            inFlight++;
            peak = Math.max(peak, inFlight);
            await new Promise((resolve) => setTimeout(resolve, delayMs));
            try {
              return await workflow.start(...args);
            } finally {
              inFlight--;
            }
          };
        },
      });
    },
  });
  return { client: slowClient, order, peak: () => peak };
}

describe('Kafka ingress consumer', () => {
  it('starts one workflow per retry request, ids from the message-id header or the coordinates, then commits', async () => {
    const s = setup();
    await createTopics(kafka, [s.retryTopic], 1);
    await produce(producer, s.retryTopic, [
      { value: task(), headers: { [RetryHeader.MessageId]: `${s.groupId}-a` } },
      { value: task() },
    ]);
    const ingress = s.make();
    await ingress.start();
    await waitCount(s.metrics, 'started', 2);
    await ingress.stop();

    const ids = (await runsById(client, [`${s.groupId}-a`, `kafka-${s.retryTopic}-0-1`])).map((r) => r.taskQueue);
    expect(ids).toEqual([s.taskQueue, s.taskQueue]);
    const desc = await client.workflow.getHandle(`kafka-${s.retryTopic}-0-1`).describe();
    expect(desc.taskQueue).toBe(s.taskQueue);
    expect(await committedOffsets(kafka, s.groupId, s.retryTopic)).toEqual({ 0: '2' });
    const submitted = await s.metrics.tasksSubmitted.get();
    expect(submitted.values.find((v) => v.labels.via === 'ingress')?.value).toBe(2);
  });

  it('counts a re-consumed message as a duplicate and never starts it again, even after its workflow closed', async () => {
    const s = setup();
    await createTopics(kafka, [s.retryTopic], 1);
    await produce(producer, s.retryTopic, [{ value: task() }, { value: task({ id: `${s.groupId}-closed` }) }]);
    const first = s.make();
    await first.start();
    await waitCount(s.metrics, 'started', 2);
    await first.stop();
    // One task finishes (terminated here), one stays open; then the group reads the topic again.
    await client.workflow.getHandle(`${s.groupId}-closed`).terminate('closed before re-consumption');
    await rewindGroup(kafka, s.groupId, s.retryTopic);
    const second = track(createIngress(s.opts));
    await second.start();
    await waitCount(s.metrics, 'duplicate', 2);
    await second.stop();

    expect(await ingressCount(s.metrics, 'consumed')).toBe(4);
    expect(await ingressCount(s.metrics, 'started')).toBe(2);
    const runs = await runsOnQueue(client, s.taskQueue);
    expect(runs).toHaveLength(2);
    expect(await committedOffsets(kafka, s.groupId, s.retryTopic)).toEqual({ 0: '2' });
  });

  it('dead-letters malformed messages with the reason and coordinates, and still starts the next good message', async () => {
    const s = setup();
    await createTopics(kafka, [s.retryTopic, s.dlqTopic], 1);
    await produce(producer, s.retryTopic, [
      { value: '{not json', key: 'k1', headers: { trace: 't1' } },
      { value: task({ max_retries: -2 }) },
      { value: 'raw', headers: { [RetryHeader.TargetTopic]: 'bad topic name!' } },
      { value: task({ id: `${s.groupId}-good` }) },
    ]);
    await produce(producer, `${s.tierPrefix}5s`, [{ value: 'no target header' }]);
    const dlq = await readTopic(kafka, s.dlqTopic);
    try {
      const ingress = s.make();
      await ingress.start();
      const dead = await dlq.waitFor(4);
      await waitCount(s.metrics, 'started', 1);
      await ingress.stop();

      const fromRetryTopic = dead.filter((d) => d.header(RetryHeader.IngressTopic) === s.retryTopic);
      fromRetryTopic.sort(
        (a, b) => Number(a.header(RetryHeader.IngressOffset)) - Number(b.header(RetryHeader.IngressOffset)),
      );
      expect(fromRetryTopic.map((d) => d.header(RetryHeader.IngressOffset))).toEqual(['0', '1', '2']);
      expect(fromRetryTopic[0]!.header(RetryHeader.IngressError)).toMatch(/not JSON/);
      expect(fromRetryTopic[0]!.message.value?.toString()).toBe('{not json');
      expect(fromRetryTopic[0]!.message.key?.toString()).toBe('k1');
      expect(fromRetryTopic[0]!.header('trace')).toBe('t1');
      expect(fromRetryTopic[0]!.header(RetryHeader.IngressPartition)).toBe('0');
      expect(fromRetryTopic[1]!.header(RetryHeader.IngressErrorField)).toBe('max_retries');
      expect(fromRetryTopic[2]!.header(RetryHeader.IngressErrorField)).toBe('destination.topic');
      const fromTier = dead.find((d) => d.header(RetryHeader.IngressTopic) === `${s.tierPrefix}5s`);
      expect(fromTier?.header(RetryHeader.IngressErrorField)).toBe(RetryHeader.TargetTopic);

      expect(await ingressCount(s.metrics, 'malformed')).toBe(4);
      expect((await runsOnQueue(client, s.taskQueue)).map((r) => r.workflowId)).toEqual([`${s.groupId}-good`]);
      expect(await committedOffsets(kafka, s.groupId, s.retryTopic)).toEqual({ 0: '4' });
    } finally {
      await dlq.close();
    }
  });

  it('dead-letters a task whose URL the SSRF guard refuses, naming the field, as the API answers it with 400', async () => {
    const s = setup();
    await createTopics(kafka, [s.retryTopic, s.dlqTopic], 1);
    const http = (url: string, id: string) =>
      task({ id, destination_type: 'http', destination: { url }, dead_destination: null });
    await produce(producer, s.retryTopic, [
      { value: http('http://169.254.169.254/latest/meta-data', `${s.groupId}-metadata`) },
      { value: task({ id: `${s.groupId}-dead`, dead_destination: { url: 'http://127.0.0.1:9/dead' } }) },
      { value: http('http://127.0.0.1:9/hook', `${s.groupId}-allowed`) },
    ]);
    const dlq = await readTopic(kafka, s.dlqTopic);
    try {
      const ingress = track(createIngress({ ...s.opts, ssrfAllow: ['127.0.0.2'] }));
      await ingress.start();
      const dead = await dlq.waitFor(3);
      await ingress.stop();
      const fields = dead.map((d) => d.header(RetryHeader.IngressErrorField)).sort();
      expect(fields).toEqual(['dead_destination.url', 'destination.url', 'destination.url']);
      expect(await runsOnQueue(client, s.taskQueue)).toEqual([]);

      const allowing = track(createIngress({ ...s.opts, groupId: `${s.groupId}-2`, ssrfAllow: ['127.0.0.1'] }));
      await allowing.start();
      await waitCount(s.metrics, 'started', 2);
      await allowing.stop();
      const started = (await runsOnQueue(client, s.taskQueue)).map((r) => r.workflowId).sort();
      expect(started).toEqual([`${s.groupId}-allowed`, `${s.groupId}-dead`]);
    } finally {
      await dlq.close();
    }
  });

  it('keeps at most the configured starts in flight per partition and issues them in offset order', async () => {
    const slow = slowStarts(50);
    const s = setup({ client: slow.client, maxInFlightPerPartition: 3, commitIntervalMs: 100 });
    await createTopics(kafka, [s.retryTopic], 1);
    await produce(
      producer,
      s.retryTopic,
      Array.from({ length: 30 }, () => ({ value: task() })),
    );
    const ingress = s.make();
    await ingress.start();
    await waitCount(s.metrics, 'started', 30);
    await ingress.stop();
    expect(slow.peak()).toBe(3);
    expect(slow.order).toEqual(Array.from({ length: 30 }, (_, i) => `kafka-${s.retryTopic}-0-${i}`));
    expect(await runsById(client, coordinateIds(s.retryTopic, 1, 30))).toHaveLength(30);
    expect(await committedOffsets(kafka, s.groupId, s.retryTopic)).toEqual({ 0: '30' });
  });

  it('on stop lets in-flight starts finish, commits them, and the next member resumes without gaps', async () => {
    const s = setup({ maxInFlightPerPartition: 2 });
    await createTopics(kafka, [s.retryTopic], 3);
    const total = 90;
    await produce(
      producer,
      s.retryTopic,
      Array.from({ length: total }, (_, i) => ({ value: task(), partition: i % 3 })),
    );
    const first = s.make();
    await first.start();
    await waitCount(s.metrics, 'started', 10);
    await first.stop();
    const startedByFirst = await ingressCount(s.metrics, 'started');
    const committed = await committedOffsets(kafka, s.groupId, s.retryTopic);
    const committedTotal = Object.values(committed).reduce((sum, o) => sum + Math.max(0, Number(o)), 0);
    // Everything the first member started is committed (nothing started and left uncommitted on a clean stop).
    expect(committedTotal).toBe(startedByFirst);

    const second = track(createIngress(s.opts));
    await second.start();
    await waitCount(s.metrics, 'started', total);
    await second.stop();
    expect(await ingressCount(s.metrics, 'duplicate')).toBe(0);
    const runs = await runsById(client, coordinateIds(s.retryTopic, 3, total / 3));
    expect(runs.filter((r) => r.taskQueue === s.taskQueue)).toHaveLength(total);
  });

  it('on a rebalance finishes and commits in-flight starts before handing partitions over (no duplicates)', async () => {
    const slow = slowStarts(60);
    const s = setup({ client: slow.client, maxInFlightPerPartition: 1, sessionTimeoutMs: 10_000 });
    await createTopics(kafka, [s.retryTopic], 3);
    const total = 240;
    await produce(
      producer,
      s.retryTopic,
      Array.from({ length: total }, (_, i) => ({ value: task(), partition: i % 3 })),
    );
    const first = s.make();
    await first.start();
    await waitCount(s.metrics, 'started', 10);
    // A second member joins the group mid-backlog: partitions move while starts are in flight.
    const secondMetrics = testMetrics();
    const second = track(createIngress({ ...s.opts, metrics: secondMetrics }));
    await second.start();
    const handled = async () =>
      (await ingressCount(s.metrics, 'started')) +
      (await ingressCount(s.metrics, 'duplicate')) +
      (await ingressCount(secondMetrics, 'started')) +
      (await ingressCount(secondMetrics, 'duplicate'));
    await until(async () => (await handled()) >= total, 60_000, 'the backlog to drain');
    await Promise.all([first.stop(), second.stop()]);

    // The second member took partitions over mid-backlog …
    expect(await ingressCount(secondMetrics, 'started')).toBeGreaterThan(0);
    expect(await ingressCount(s.metrics, 'started')).toBeGreaterThan(10);
    // … exactly where the first member's committed offsets left them.
    expect((await ingressCount(s.metrics, 'started')) + (await ingressCount(secondMetrics, 'started'))).toBe(total);
    expect((await ingressCount(s.metrics, 'duplicate')) + (await ingressCount(secondMetrics, 'duplicate'))).toBe(0);
    // Every message's task exists, read by id (a visibility listing here may still lag behind accepted starts).
    const runs = await runsById(client, coordinateIds(s.retryTopic, 3, total / 3));
    expect(runs.filter((r) => r.taskQueue === s.taskQueue)).toHaveLength(total);
  });
});
