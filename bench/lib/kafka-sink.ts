import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { CountWaiters } from './count-waiters';

/** One record seen on the topic. */
export interface KafkaArrival {
  id: string;
  /** Record timestamp (CreateTime: set by our producer when it sent the record), epoch milliseconds. */
  at: number;
  /** When this consumer received it, epoch milliseconds (includes fetch latency). */
  consumedAt: number;
}

/**
 * A topic created for one benchmark run and a consumer reading it from the beginning, recording each record's id
 * (the record key, else the `bench_id` of a JSON value) with its timestamps.
 */
export class KafkaSink {
  readonly topic: string;
  private readonly kafka: Kafka;
  private consumer?: Consumer;
  private readonly seen = new Map<string, KafkaArrival>();
  private readonly waiters = new CountWaiters(
    () => this.seen.size,
    (have, n, ms) => `kafka sink: ${have}/${n} records within ${ms} ms`,
  );

  private constructor(
    readonly brokers: string[],
    private readonly onArrival?: (id: string) => void,
  ) {
    this.topic = `bench-${randomUUID().slice(0, 8)}`;
    this.kafka = new Kafka({ clientId: 'bench-sink', brokers, logLevel: logLevel.NOTHING });
  }

  /**
   * Creates the topic (`partitions`, default 4) and starts consuming it.
   * @param onArrival called once per id when its first record is read (e.g. to tick a progress bar)
   */
  static async start(brokers: string[], partitions = 4, onArrival?: (id: string) => void): Promise<KafkaSink> {
    const sink = new KafkaSink(brokers, onArrival);
    const admin = sink.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: sink.topic, numPartitions: partitions }], waitForLeaders: false });
      // On a three-node cluster the broker asked for leaders may not know the new topic yet (kafkajs' own leader wait
      // fails on UNKNOWN_TOPIC_OR_PARTITION then): ask until every partition has a leader.
      for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 250))) {
        const led = await admin
          .fetchTopicMetadata({ topics: [sink.topic] })
          .then((m) => m.topics[0]?.partitions.filter((p) => p.leader >= 0).length === partitions)
          .catch(() => false);
        if (led) break;
        if (Date.now() > deadline) throw new Error(`bench sink topic ${sink.topic} has no leaders after 60 s`);
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = sink.kafka.consumer({ groupId: `${sink.topic}-g`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: sink.topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const consumedAt = Date.now();
        for (const message of batch.messages) {
          const id = idOf(message.key?.toString(), message.value?.toString());
          if (sink.seen.has(id)) continue;
          sink.seen.set(id, { id, at: Number(message.timestamp), consumedAt });
          sink.onArrival?.(id);
        }
        sink.waiters.notify();
      },
    });
    sink.consumer = consumer;
    return sink;
  }

  get count(): number {
    return this.seen.size;
  }

  /** Resolves once `n` distinct ids were read; rejects after `timeoutMs` milliseconds. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    return this.waiters.waitFor(n, timeoutMs);
  }

  /** First record per id, in consumption order. */
  arrivals(): KafkaArrival[] {
    return [...this.seen.values()];
  }

  /** Stops consuming and deletes the topic. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: [this.topic] });
    } catch {
      // the broker may be going away with the stack
    } finally {
      await admin.disconnect();
    }
  }
}

function idOf(key: string | undefined, value: string | undefined): string {
  if (key) return key;
  try {
    const parsed = JSON.parse(value ?? '') as { bench_id?: unknown };
    if (typeof parsed.bench_id === 'string') return parsed.bench_id;
  } catch {
    // not JSON
  }
  return '(no id)';
}
