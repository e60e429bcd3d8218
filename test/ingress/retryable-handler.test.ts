import type { EachMessagePayload, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryHeader } from '../../sdk/headers';
import { parseIngressMessage } from '../../ingress/parse-message';
import { retryableHandler, type GiveUpEvent, type HandOffEvent } from '../../sdk/retryable-handler';
import { brokers, createTopics, produce, readTopic, testKafka, unique, until } from './support';

let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  kafka = testKafka();
  producer = kafka.producer();
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
});

/** An application consumer on `topic` running `eachMessage` through the helper; records what it handled. */
async function appConsumer(topic: string, fail: (value: string) => boolean, extra: object = {}) {
  const handled: string[] = [];
  const retries: HandOffEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  const consumer = kafka.consumer({ groupId: unique('app'), sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const now = Date.parse('2030-01-01T00:00:00Z');
  await consumer.run({
    eachMessage: retryableHandler(
      async ({ message }) => {
        const value = message.value?.toString() ?? '';
        if (fail(value)) throw new Error(`cannot process ${value}`);
        handled.push(value);
      },
      {
        producer,
        name: 'orders-app',
        brokers: brokers(),
        retryRequestTopic: `${topic}.requests`,
        maxRetries: 2,
        backoff: { initialDelaySeconds: 1 },
        now: () => now,
        onRetry: (e) => retries.push(e),
        onGiveUp: (e) => giveUps.push(e),
        ...extra,
      },
    ),
  });
  return { consumer, handled, retries, giveUps, now };
}

describe('retryableHandler (kafkajs helper)', () => {
  it('hands a throwing message to the retry-request topic as a valid task and the partition keeps going', async () => {
    const topic = unique('orders');
    await createTopics(kafka, [topic, `${topic}.requests`], 1);
    const requests = await readTopic(kafka, `${topic}.requests`);
    await produce(producer, topic, [
      { key: 'o-1', value: 'poison', headers: { 'trace-id': 'abc' } },
      { value: 'good-1' },
      { value: 'good-2' },
    ]);
    const app = await appConsumer(topic, (v) => v === 'poison');
    try {
      await until(() => app.handled.length === 2, 30_000, 'the good messages');
      expect(app.handled).toEqual(['good-1', 'good-2']);
      const [handOff] = await requests.waitFor(1);
      expect(requests.received).toHaveLength(1);
      expect(app.retries).toMatchObject([{ attempt: 1, offset: '0', taskId: `orders-app-${topic}-0-0` }]);

      // The hand-off is exactly what the ingress accepts: a task back to the same topic after the first backoff.
      expect(handOff!.header(RetryHeader.MessageId)).toBe(`orders-app-${topic}-0-0`);
      const parsed = parseIngressMessage(
        {
          topic: `${topic}.requests`,
          partition: 0,
          ...handOff!.message,
          headers: handOff!.message.headers,
        },
        { retryTopic: `${topic}.requests`, tierPrefix: 'unused.', brokers: brokers() },
      );
      if (!parsed.ok) throw parsed.error;
      expect(parsed.task).toMatchObject({
        id: `orders-app-${topic}-0-0`,
        destination_type: 'kafka',
        destination: { brokers: brokers(), topic },
        dead_destination: { brokers: brokers(), topic: `${topic}.dlt` },
        message_data: 'poison',
        key: 'o-1',
        deliver_at: new Date(app.now + 1000).toISOString(),
        max_retries: 5,
        base_delay: 1,
        client_id: 'orders-app',
      });
      expect(parsed.task.headers).toMatchObject({
        'trace-id': 'abc',
        [RetryHeader.Attempt]: '1',
        [RetryHeader.LastError]: 'Error: cannot process poison',
        [RetryHeader.Origin]: `${topic}/0/0`,
      });
    } finally {
      await app.consumer.disconnect();
      await requests.close();
    }
  });

  it('doubles the wait on each redelivery and dead-letters once the retries are used up', async () => {
    const topic = unique('orders');
    await createTopics(kafka, [topic, `${topic}.requests`, `${topic}.dlt`], 1);
    const requests = await readTopic(kafka, `${topic}.requests`);
    const dlt = await readTopic(kafka, `${topic}.dlt`);
    // Two redeliveries as the retry service makes them (attempt 1 and 2), then a good message.
    await produce(producer, topic, [
      { value: 'again', headers: { [RetryHeader.Attempt]: '1', [RetryHeader.Origin]: 'orders/3/7' } },
      { value: 'again', headers: { [RetryHeader.Attempt]: '2', [RetryHeader.Origin]: 'orders/3/7' } },
      { value: 'fine' },
    ]);
    const app = await appConsumer(topic, (v) => v === 'again');
    try {
      await until(() => app.handled.length === 1, 30_000, 'the good message');
      const [second] = await requests.waitFor(1);
      const [dead] = await dlt.waitFor(1);
      const task = JSON.parse(second!.message.value!.toString()) as {
        deliver_at: string;
        headers: Record<string, string>;
      };
      expect(task.deliver_at).toBe(new Date(app.now + 2000).toISOString());
      expect(task.headers[RetryHeader.Attempt]).toBe('2');
      expect(task.headers[RetryHeader.Origin]).toBe('orders/3/7');
      expect(dead!.message.value?.toString()).toBe('again');
      expect(dead!.header(RetryHeader.Attempt)).toBe('2');
      expect(dead!.header(RetryHeader.LastError)).toBe('Error: cannot process again');
      expect(dead!.header(RetryHeader.Origin)).toBe('orders/3/7');
      expect(app.giveUps).toMatchObject([{ reason: 'exhausted', attempts: 2, deadLetterTopic: `${topic}.dlt` }]);
      expect(requests.received).toHaveLength(1);
    } finally {
      await app.consumer.disconnect();
      await Promise.all([requests.close(), dlt.close()]);
    }
  });

  it('sends errors that isRetryable rejects straight to the dead-letter topic', async () => {
    const topic = unique('orders');
    await createTopics(kafka, [topic, `${topic}.requests`, `${topic}.poison`], 1);
    const dlt = await readTopic(kafka, `${topic}.poison`);
    await produce(producer, topic, [{ value: 'bad-schema' }, { value: 'ok' }]);
    const app = await appConsumer(topic, (v) => v === 'bad-schema', {
      isRetryable: () => false,
      deadLetterTopic: (t: string) => `${t}.poison`,
    });
    try {
      await until(() => app.handled.length === 1, 30_000, 'the good message');
      await dlt.waitFor(1);
      expect(app.giveUps).toMatchObject([{ reason: 'not_retryable', attempts: 0 }]);
      expect(app.retries).toHaveLength(0);
    } finally {
      await app.consumer.disconnect();
      await dlt.close();
    }
  });

  it('rethrows (so kafkajs retries the message) when the hand-off cannot be written', async () => {
    const failing = {
      send: async () => {
        throw new Error('broker unreachable');
      },
    } as unknown as Producer;
    const handler = retryableHandler(
      async () => {
        throw new Error('boom');
      },
      { producer: failing, name: 'app', brokers: brokers() },
    );
    const payload: EachMessagePayload = {
      topic: 't',
      partition: 0,
      message: { key: null, value: Buffer.from('v'), offset: '5', timestamp: '0', attributes: 0, size: 1 },
      heartbeat: async () => undefined,
      pause: () => () => undefined,
    };
    await expect(handler(payload)).rejects.toThrow(
      /hand-off to the retry service failed \(Error: broker unreachable\) after: Error: boom/,
    );
  });
});
