import net, { type AddressInfo } from 'node:net';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeliveryDeps } from '../../activities';
import { DeliveryFailureType } from '../../domain/failures';
import type { KafkaDestination } from '../../domain/task';
import { KafkaProducerPool } from '../../destinations/kafka/client';
import { freePort } from '../../scripts/stack/process';
import { failureOf, request, runActivity, taskId, testDeps } from './helpers';

const brokers = inject('kafkaBrokers');
const [host, port] = brokers[0]!.split(':') as [string, string];
let deps: DeliveryDeps;
const admin = new Kafka({ clientId: 'delivery-test', brokers, logLevel: logLevel.NOTHING }).admin();

beforeAll(async () => {
  deps = testDeps({ BREAKER_CONSECUTIVE_FAILURES: '10000', KAFKA_CLUSTERS: JSON.stringify({ local: brokers }) });
  await admin.connect();
});
afterAll(async () => {
  await deps.close();
  await admin.disconnect();
});

const topicName = (what: string) => `delivery-${what}-${taskId('t').replace(/[^A-Za-z0-9-]/g, '')}`;
const seed002 = (topic: string, over: Partial<KafkaDestination> = {}): KafkaDestination => ({
  kind: 'kafka',
  host,
  port: Number(port),
  topic,
  ...over,
});

/** Reads every record of a topic from the beginning (a real consumer group). */
async function consumeAll(topic: string, count: number) {
  const kafka = new Kafka({ clientId: 'delivery-test-consumer', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  const got: {
    value: string;
    key: string | null;
    headers: Record<string, string>;
    partition: number;
    offset: string;
  }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} records within 30 s`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message, partition }) => {
          got.push({
            value: message.value?.toString() ?? '',
            key: message.key?.toString() ?? null,
            headers: decodeHeaders(message.headers),
            partition,
            offset: message.offset,
          });
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return got;
}

function decodeHeaders(h: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k, String(v)]));
}

describe('Kafka delivery against the provisioned broker', () => {
  it('when delivering to a seed-002 host+port destination then value, key, headers and partition arrive as sent', async () => {
    const topic = topicName('ok');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const req = request(seed002(topic, { partition: 2 }), {
      attempt: 3,
      key: 'order-42',
      headers: { 'content-type': 'application/json', 'x-trace': 'abc' },
    });
    const receipt = await runActivity(deps, 'deliverKafka', req);
    expect(receipt).toMatchObject({ partition: 2, offset: '0' });

    const [record] = await consumeAll(topic, 1);
    expect(record).toEqual({
      value: req.message_data,
      key: 'order-42',
      partition: 2,
      offset: '0',
      headers: {
        'content-type': 'application/json',
        'x-trace': 'abc',
        'x-retry-task-id': req.task_id,
        'x-retry-attempt': '3',
        'x-retry-source': 'billing',
      },
    });
  });

  it('when the destination names a configured cluster then the record is written there, reusing one producer', async () => {
    const topic = topicName('cluster');
    const pool = deps.kafka;
    const first = await runActivity(deps, 'deliverKafka', request({ cluster: 'local', topic }, { key: 'a' }));
    const producer = await pool.producer(brokers);
    await runActivity(deps, 'deliverKafka', request({ cluster: 'local', topic }, { key: 'a' }));
    expect(await pool.producer(brokers)).toBe(producer);
    const records = await consumeAll(topic, 2);
    expect(records.map((r) => r.partition)).toEqual([first.partition, first.partition]);
  });

  it('when delivering to a dead-letter topic then the original message arrives with the failure context headers', async () => {
    const topic = topicName('dlq');
    const req = request(seed002(topic), {
      kind: 'dead_letter',
      key: 'k-dead',
      headers: { 'x-original': 'yes' },
      failure: {
        reason: 'permanent',
        attempts: 2,
        last_error: 'HTTP 410 from POST https://example.com/hook',
        last_status_code: 410,
        first_attempt_at: '2024-01-01T00:00:00.000Z',
        last_attempt_at: '2024-01-01T00:00:02.000Z',
        original_destination: 'kafka orders@10.0.0.1:9092',
      },
    });
    await runActivity(deps, 'deliverKafka', req);
    const [record] = await consumeAll(topic, 1);
    expect(record?.value).toBe(req.message_data);
    expect(record?.key).toBe('k-dead');
    expect(record?.headers).toEqual({
      'x-original': 'yes',
      'x-retry-task-id': req.task_id,
      'x-retry-attempt': '1',
      'x-retry-source': 'billing',
      'x-retry-reason': 'permanent',
      'x-retry-attempts': '2',
      'x-retry-last-error': 'HTTP 410 from POST https://example.com/hook',
      'x-retry-last-status': '410',
      'x-retry-first-attempt-at': '2024-01-01T00:00:00.000Z',
      'x-retry-last-attempt-at': '2024-01-01T00:00:02.000Z',
      'x-retry-original-destination': 'kafka orders@10.0.0.1:9092',
    });
  });

  it('when the topic name is invalid for the broker then the failure is permanent', async () => {
    const f = await failureOf(runActivity(deps, 'deliverKafka', request(seed002('..'))));
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.nonRetryable).toBe(true);
    expect(f.details.error_class).toBe('INVALID_TOPIC_EXCEPTION');
  });

  it('when the topic is an internal one the broker forbids writing to then the failure is permanent', async () => {
    const f = await failureOf(runActivity(deps, 'deliverKafka', request(seed002('__consumer_offsets'))));
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.details.error_class).toBe('INVALID_TOPIC_EXCEPTION');
  });

  it('when the record is larger than the broker accepts then the failure is permanent', async () => {
    const f = await failureOf(
      runActivity(deps, 'deliverKafka', request(seed002(topicName('big')), { message_data: 'x'.repeat(1_200_000) })),
    );
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.details.error_class).toBe('MESSAGE_TOO_LARGE');
  });

  it('when the topic does not exist and will not be auto-created then the failure is permanent', async () => {
    const noCreate = testDeps(
      {},
      {
        kafka: new KafkaProducerPool({
          allowAutoTopicCreation: false,
          connectionTimeoutMs: 1000,
          requestTimeoutMs: 3000,
        }),
      },
    );
    try {
      const f = await failureOf(runActivity(noCreate, 'deliverKafka', request(seed002(topicName('missing')))));
      expect(f.type).toBe(DeliveryFailureType.Permanent);
      expect(f.details.error_class).toBe('UNKNOWN_TOPIC_OR_PARTITION');
      expect(f.message).toMatch(/will not create it/);
    } finally {
      await noCreate.close();
    }
  });

  it('when the broker auto-creates topics then a missing topic is created by the delivery and the pool says it may be', async () => {
    const topic = topicName('autocreate');
    expect(await deps.kafka.mayAutoCreateTopics(brokers)).toBe(true);
    // The broker creates the topic on the first request; until its partition has a leader (a moment on a busy
    // machine), a write fails as retryable — the attempt series then tries again, as it does here.
    const req = request(seed002(topic));
    for (let attempt = 1; ; attempt++) {
      try {
        await runActivity(deps, 'deliverKafka', { ...req, attempt });
        break;
      } catch (err) {
        const f = await failureOf(Promise.reject(err));
        expect(f.type).toBe(DeliveryFailureType.Retryable);
        expect(attempt).toBeLessThan(8);
        await new Promise((r) => setTimeout(r, 500 * attempt)); // the series' backoff, shortened
      }
    }
    expect(await admin.listTopics()).toContain(topic);
  });

  it('when the destination names an unknown cluster then the failure is permanent', async () => {
    const f = await failureOf(runActivity(deps, 'deliverKafka', request({ cluster: 'nowhere', topic: 'x' })));
    expect(f.type).toBe(DeliveryFailureType.Permanent);
    expect(f.details.error_class).toBe('unknown_cluster');
  });
});

describe('Kafka delivery to brokers that are down', () => {
  it('when nothing listens on the broker port then the failure is retryable and comes within a few seconds', async () => {
    const deadPort = await freePort();

    const started = Date.now();
    const f = await failureOf(
      runActivity(deps, 'deliverKafka', request({ host: '127.0.0.1', port: deadPort, topic: 'anything' })),
    );
    expect(f.type).toBe(DeliveryFailureType.Retryable);
    expect(f.details.error_class).toBe('connection_error');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('when the broker accepts connections but never answers then the failure is retryable and bounded by the timeouts', async () => {
    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const { port: holePort } = blackhole.address() as AddressInfo;
    try {
      const started = Date.now();
      const f = await failureOf(
        runActivity(
          deps,
          'deliverKafka',
          request({ host: '127.0.0.1', port: holePort, topic: 'anything' }, { timeout_ms: 6_000 }),
        ),
      );
      expect(f.type).toBe(DeliveryFailureType.Retryable);
      expect(Date.now() - started).toBeLessThan(7_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => blackhole.close(() => r()));
    }
  });
});
