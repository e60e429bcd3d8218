import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { emitLifecycleEvent } from '../../activities/lifecycle-events';
import type { NotificationBody } from '../../activities/notification-tasks';
import { conformingRequest as request } from '../api/conformance';
import { eventually, httpTask, startHarness, type Harness } from '../api/harness';

/**
 * The Kafka channel of lifecycle notifications on the real broker: with NOTIFY_KAFKA_TOPIC set, events go to that
 * topic through the same task machinery as webhooks, and a consumer reads them back.
 */
const brokers = inject('kafkaBrokers');
const topic = `notify-${randomUUID()}`;
const kafka = new Kafka({ clientId: 'notify-test', brokers, logLevel: logLevel.NOTHING });
let h: Harness;
let consumer: Consumer;
const received: { value: NotificationBody; key: string | null }[] = [];

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push({
        value: JSON.parse(message.value?.toString() ?? 'null') as NotificationBody,
        key: message.key?.toString() ?? null,
      });
    },
  });
  h = await startHarness({
    worker: true,
    env: { NOTIFY_KAFKA_TOPIC: topic, KAFKA_BROKERS: brokers.join(','), NOTIFY_COALESCE_SECONDS: '1' },
  });
});
afterAll(async () => {
  await h?.stop();
  await consumer?.disconnect();
});

const eventOf = (type: string, match: (e: NotificationBody) => boolean) =>
  eventually(
    async () => {
      const found = received.map((r) => r.value).filter((e) => e?.type === type && match(e));
      expect(found.length).toBeGreaterThan(0);
      return found;
    },
    60_000,
    250,
  );

describe('lifecycle notifications to a Kafka topic', () => {
  it('delivers task.dead_lettered and destination.paused to NOTIFY_KAFKA_TOPIC, read back by a consumer', async () => {
    // A task that dead-letters at once (max_retries 0: its URL is never called).
    const task = httpTask('http://127.0.0.1:9', { max_retries: 0 });
    expect((await request(h.api.app).post('/tasks').send(task)).status).toBe(201);
    const [dead] = await eventOf('task.dead_lettered', (e) => e.data.task_ids.includes(task.id));
    expect(dead!.data).toMatchObject({ count: 1, details: { reason: 'exhausted' } });
    // One task: `self` is that task, `dead_letters` the list it joined.
    expect(dead!.data.links.self).toMatch(new RegExp(`/tasks/${task.id}$`));
    expect(dead!.data.links.dead_letters).toMatch(/\/dead-letters\?status=dead_lettered$/);

    const subject = `http://paused-${Date.now()}.example`;
    await emitLifecycleEvent(h.client, h.config, { type: 'destination.paused', subject, destination: subject });
    const [paused] = await eventOf('destination.paused', (e) => e.data.subject === subject);
    expect(paused!.data.links.resume).toContain(`/destinations/${encodeURIComponent(subject)}/resume`);

    // Each event is one notification task (id notify-<event id>-kafka), delivered to the broker like any task.
    for (const e of [dead!, paused!]) {
      expect((await request(h.api.app).get(`/tasks/notify-${e.id}-kafka`)).body).toMatchObject({
        state: 'succeeded',
        destination_type: 'kafka',
        attempt: 1,
      });
    }
  });
});
