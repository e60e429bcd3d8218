import { Kafka, logLevel } from 'kafkajs';
import { figuresOf } from './figures';
import { until, type Lab } from './lab';
import { httpTask, Services } from './services';
import { idsFor, settle, SETTLE_MS, tasksSettled, type Scenario } from './common';

const kafkaOf = (lab: Lab) => new Kafka({ brokers: lab.brokers, clientId: 'chaos', logLevel: logLevel.NOTHING });

/** Every record on `topic` from the beginning: record timestamps by `x-retry-task-id`, read until `ids` are all seen. */
async function readTopic(lab: Lab, topic: string, ids: string[], apiUrl: string): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  /** Next offset to read, by partition. */
  const next = new Map<number, bigint>();
  const consumer = kafkaOf(lab).consumer({ groupId: `chaos-read-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const id = message.headers?.['x-retry-task-id']?.toString() ?? '';
      seen.set(id, [...(seen.get(id) ?? []), Number(message.timestamp)]);
      next.set(partition, BigInt(message.offset) + 1n);
    },
  });
  await until(() => ids.every((id) => seen.has(id)), SETTLE_MS);
  await tasksSettled(apiUrl, ids, SETTLE_MS);
  // Every task has settled, so nothing more is written: read up to the topic's end as it is now.
  const admin = kafkaOf(lab).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    await until(() => ends.every((p) => (next.get(p.partition) ?? 0n) >= BigInt(p.high)), SETTLE_MS);
  } finally {
    await admin.disconnect();
  }
  await consumer.disconnect();
  return seen;
}

export const kafkaScenarios: Record<string, { describe: string; run: Scenario }> = {
  'kafka-restart-delivery': {
    describe: 'kill -9 of the Kafka broker during Kafka deliveries, restart on the same data',
    async run({ lab, tasks }) {
      const services = new Services(lab);
      await services.start();
      const topic = `chaos-sink-${Date.now()}`;
      const admin = kafkaOf(lab).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();
      const ids = idsFor('kafka', tasks);
      // Due times spread over 2–8 s, so deliveries run before, during and after the outage.
      const delayOf = (i: number) => 2 + (i % 7);
      const tasksOf = (from: number, to: number) =>
        ids.slice(from, to).map((id, i) => ({
          ...httpTask(id, ''),
          destination_type: 'kafka',
          destination: { brokers: lab.brokers, topic },
          base_delay: delayOf(from + i),
        }));
      // The broker dies once half the tasks are in (however long that took on this machine), the rest are submitted
      // while it is down (the API does not need it), so due times fall before, during and after the outage.
      const half = Math.ceil(tasks / 2);
      const submitted = await services.submit(tasksOf(0, half));
      await lab.kill9(lab.kafka);
      const down = Date.now();
      for (const [id, at] of await services.submit(tasksOf(half, tasks))) submitted.set(id, at);
      await new Promise((r) => setTimeout(r, Math.max(0, down + 2_000 - Date.now())));
      await lab.startKafka();
      const downMs = Date.now() - down;
      const arrivals = await readTopic(lab, topic, ids, services.apiUrl);
      const due = new Map(ids.map((id, i) => [id, submitted.get(id)! + delayOf(i) * 1000]));
      const notYet = ids.filter((id, i) => submitted.get(id)! + delayOf(i) * 1000 >= down).length;
      return figuresOf({
        scenario: 'kafka-restart-delivery',
        due,
        arrivals,
        kills: 1,
        duplicateBound: tasks,
        leftovers: (await services.stop(), lab.leftovers().length),
        notes: `broker down ${(downMs / 1000).toFixed(1)} s; ${notYet} tasks fell due during or after the outage; bound: every task (in-flight sends are not observable from outside)`,
      });
    },
  },
  'kafka-restart-ingress': {
    describe: 'kill -9 of the Kafka broker while the ingress consumes retry requests, restart on the same data',
    async run({ lab, receiver, tasks }) {
      const prefix = `chaos-ingress-${Date.now()}`;
      const services = new Services(lab, {
        INGRESS_RETRY_TOPIC: `${prefix}.requests`,
        INGRESS_TIER_PREFIX: `${prefix}.delay.`,
        INGRESS_DLQ_TOPIC: `${prefix}.dlq`,
        INGRESS_GROUP_ID: `${prefix}-group`,
        INGRESS_METRICS_PORT: '0',
        INGRESS_MAX_IN_FLIGHT_PER_PARTITION: '1',
      });
      await services.start();
      const ingress = lab.spawn('ingress/main.ts', { ...services.env(), INGRESS_ENABLED: 'true' }, 'ingress');
      const ids = idsFor('ingress', tasks);
      const producer = kafkaOf(lab).producer();
      await producer.connect();
      const producedAt = Date.now();
      await producer.send({
        topic: `${prefix}.requests`,
        messages: ids.map((id) => ({
          value: JSON.stringify(httpTask(id, `${receiver.url}/ingress`, { base_delay: 1 })),
        })),
      });
      await producer.disconnect();
      // Kill once the ingress has started part of the backlog (their first deliveries arrive 1 s later).
      await until(() => receiver.deliveries('/ingress').size >= Math.max(1, Math.floor(tasks / 4)), SETTLE_MS);
      await lab.kill9(lab.kafka);
      const down = Date.now();
      await new Promise((r) => setTimeout(r, 2_000));
      await lab.startKafka();
      const downMs = Date.now() - down;
      await settle(receiver, '/ingress', ids, services.apiUrl);
      ingress.proc.kill('SIGTERM');
      await ingress.exited;
      return figuresOf({
        scenario: 'kafka-restart-ingress',
        due: new Map(ids.map((id) => [id, producedAt + 1000])),
        arrivals: receiver.deliveries('/ingress'),
        kills: 1,
        duplicateBound: 0,
        leftovers: (await services.stop(), lab.leftovers().length),
        notes: `broker down ${(downMs / 1000).toFixed(1)} s; a re-consumed request never starts a second task`,
      });
    },
  },
};
