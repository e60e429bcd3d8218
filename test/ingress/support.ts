import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { inject } from 'vitest';
import { createLogger } from '../../platform/logger';
import { createMetrics, type Metrics } from '../../platform/metrics';

/** Shared plumbing of the ingress tests: the run's broker and Temporal server, unique names, topic readers. */

export const brokers = (): string[] => inject('kafkaBrokers');
export const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'ingress-test');

/** A name no other test (or run) uses: letters, digits and dashes. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: unique('ingress-test'), brokers: brokers(), logLevel: logLevel.NOTHING });
}

export async function connectTemporal(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return { client: new Client({ connection, namespace: 'default' }), connection };
}

export function testMetrics(): Metrics {
  return createMetrics(new Registry());
}

/** The value of `retry_service_ingress_messages_total{result}` summed over topics. */
export async function ingressCount(metrics: Metrics, result: string): Promise<number> {
  const { values } = await metrics.ingressMessages.get();
  return values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

export async function createTopics(kafka: Kafka, topics: string[], numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin
      .createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true })
      .catch((err: unknown) => {
        // Under load kafkajs may ask for the new topics' metadata before the broker hosts them; wait for it below.
        if (!(err instanceof Error && /does not host this topic-partition/.test(err.message))) throw err;
      });
    await until(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
        return !!metadata?.topics.every(
          (t) => t.partitions.length === numPartitions && t.partitions.every((p) => p.leader >= 0),
        );
      },
      30_000,
      `leaders of ${topics.join(', ')}`,
    );
  } finally {
    await admin.disconnect();
  }
}

export async function produce(
  producer: Producer,
  topic: string,
  messages: { key?: string; value: string | null; headers?: IHeaders; partition?: number; timestamp?: string }[],
): Promise<void> {
  await producer.send({ topic, acks: -1, messages });
}

export interface Received {
  message: KafkaMessage;
  partition: number;
  receivedAtMs: number;
  header(name: string): string | undefined;
}

/** Reads a topic from the beginning into `received` until `close()`. */
export async function readTopic(kafka: Kafka, topic: string) {
  const consumer = kafka.consumer({ groupId: unique('reader'), sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const received: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      received.push({
        message,
        partition,
        receivedAtMs: Date.now(),
        header: (name) => {
          const v = message.headers?.[name];
          const one = Array.isArray(v) ? v[v.length - 1] : v;
          return one === undefined ? undefined : one.toString();
        },
      });
    },
  });
  return {
    received,
    /** Waits until `n` messages arrived (or fails after `timeoutMs`). */
    async waitFor(n: number, timeoutMs = 30_000): Promise<Received[]> {
      await until(() => received.length >= n, timeoutMs, `${n} message(s) on ${topic}, have ${received.length}`);
      return received;
    },
    close: () => consumer.disconnect(),
  };
}

/** Polls `check` every 100 ms until it returns true; fails with `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Committed offsets of a group on a topic, by partition (-1 = none). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** Rewinds an (inactive) group to the start of a topic, so every message is consumed again. */
export async function rewindGroup(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}

/** Runs of the workflows on a task queue (every run counts, so a second start of one id shows). */
export async function runsOnQueue(client: Client, taskQueue: string): Promise<{ workflowId: string; runId: string }[]> {
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId });
  }
  return runs;
}

/**
 * The current run of each of `ids`, read by id. Use it right after starts: describe reads the execution itself, which
 * exists as soon as Temporal accepted the start, while `runsOnQueue` reads visibility, which the server fills in
 * asynchronously and may lag behind (a listing right after 240 accepted starts has shown 238). Missing ids are absent.
 */
export async function runsById(
  client: Client,
  ids: string[],
): Promise<{ workflowId: string; runId: string; taskQueue: string }[]> {
  const runs: { workflowId: string; runId: string; taskQueue: string }[] = [];
  for (let i = 0; i < ids.length; i += 20) {
    const described = await Promise.all(
      ids.slice(i, i + 20).map((id) =>
        client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined),
      ),
    );
    for (const d of described) if (d) runs.push({ workflowId: d.workflowId, runId: d.runId, taskQueue: d.taskQueue });
  }
  return runs;
}

/** Ingress task ids of `perPartition` messages on each of `partitions` partitions (no message-id header). */
export function coordinateIds(topic: string, partitions: number, perPartition: number): string[] {
  return Array.from(
    { length: partitions * perPartition },
    (_, i) => `kafka-${topic}-${i % partitions}-${(i / partitions) | 0}`,
  );
}

/** Terminates every open workflow on a task queue (tests without a worker leave them waiting). */
export async function terminateQueue(client: Client, taskQueue: string): Promise<void> {
  for await (const wf of client.workflow.list({
    query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`,
  })) {
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
}
