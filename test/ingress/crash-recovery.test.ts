import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createIngress } from '../../ingress/consumer';
import {
  brokers,
  connectTemporal,
  createTopics,
  ingressCount,
  logger,
  produce,
  runsOnQueue,
  terminateQueue,
  testKafka,
  testMetrics,
  unique,
  until,
} from './support';

const root = path.resolve(__dirname, '../..');
let kafka: Kafka;
let producer: Producer;
let client: Client;
let connection: Connection;
let child: ChildProcess | undefined;
const id = unique('crash');
const names = {
  INGRESS_RETRY_TOPIC: `${id}.requests`,
  INGRESS_TIER_PREFIX: `${id}.delay.`,
  INGRESS_DLQ_TOPIC: `${id}.dlq`,
  INGRESS_GROUP_ID: `${id}-group`,
  TASK_QUEUE: `${id}-queue`,
};

beforeAll(async () => {
  kafka = testKafka();
  producer = kafka.producer();
  await producer.connect();
  ({ client, connection } = await connectTemporal());
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await terminateQueue(client, names.TASK_QUEUE);
  await producer.disconnect();
  await connection.close();
});

/** The ingress in a child process (fixtures/ingress-child.ts), so it can really be killed. */
function spawnIngress(): ChildProcess {
  // node itself (not the tsx wrapper, whose child would survive a SIGKILL of the wrapper).
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/ingress/fixtures/ingress-child.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...names,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      KAFKA_BROKERS: brokers().join(','),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[ingress child] ${chunk.toString()}`));
  return proc;
}

describe('Kafka ingress crash recovery', () => {
  it('killed mid-batch and restarted: every message starts exactly one workflow, nothing lost', async () => {
    const total = 300;
    await createTopics(kafka, [names.INGRESS_RETRY_TOPIC], 3);
    await produce(
      producer,
      names.INGRESS_RETRY_TOPIC,
      Array.from({ length: total }, (_, i) => ({
        partition: i % 3,
        value: JSON.stringify({
          source: 'test',
          client_id: 'c',
          destination_type: 'kafka',
          destination: { brokers: brokers(), topic: 'nowhere' },
          message_data: `m${i}`,
          max_retries: 1,
          base_delay: 1,
        }),
      })),
    );

    // 1. The ingress process starts working through the backlog, one start at a time per partition …
    child = spawnIngress();
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    await until(async () => (await runsOnQueue(client, names.TASK_QUEUE)).length >= 20, 60_000, '20 starts');
    // 2. … and is killed without any chance to commit or leave the group.
    child.kill('SIGKILL');
    await exited;
    const beforeCrash = (await runsOnQueue(client, names.TASK_QUEUE)).length;
    expect(beforeCrash).toBeLessThan(total);

    // 3. A new member of the same group (it waits out the dead member's session) takes over.
    const metrics = testMetrics();
    const ingress = createIngress({
      brokers: brokers(),
      client,
      taskQueue: names.TASK_QUEUE,
      groupId: names.INGRESS_GROUP_ID,
      retryTopic: names.INGRESS_RETRY_TOPIC,
      tierPrefix: names.INGRESS_TIER_PREFIX,
      tiers: [],
      sessionTimeoutMs: 6_000,
      dlqTopic: names.INGRESS_DLQ_TOPIC,
      logger,
      metrics,
    });
    await ingress.start();
    try {
      await until(
        async () =>
          (await ingressCount(metrics, 'started')) + (await ingressCount(metrics, 'duplicate')) >= total - beforeCrash,
        60_000,
        'the backlog to drain',
      );
      await until(async () => (await runsOnQueue(client, names.TASK_QUEUE)).length >= total, 30_000, `${total} runs`);
    } finally {
      await ingress.stop();
    }

    const runs = await runsOnQueue(client, names.TASK_QUEUE);
    // One run per message: nothing lost, nothing started twice.
    expect(runs).toHaveLength(total);
    expect(new Set(runs.map((r) => r.workflowId)).size).toBe(total);
    // The new member consumed everything after the last commit: messages started before the crash but not committed
    // come again and are recognised as duplicates (how many depends on when the kill fell between start and commit;
    // none when it fell right after a commit), and it starts only messages that had no run yet.
    // (`beforeCrash` is a visibility listing and may lag behind the runs that existed, so it bounds from one side.)
    expect(await ingressCount(metrics, 'started')).toBeLessThanOrEqual(total - beforeCrash);
    expect(await ingressCount(metrics, 'malformed')).toBe(0);
  });
});
