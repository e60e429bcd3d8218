import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDir } from '../../scripts/stack';
import { startCluster, type Cluster } from '../../scripts/stack/cluster';
import { HttpReceiver, type ReceiverMode } from '../support/http-receiver';
import { createTopics, produce, readTopic, unique, until } from '../ingress/support';
import { rolloutHeader, rolloutPatch } from './rollout-workflows';

/**
 * The production topology for real: PostgreSQL, the Temporal server built from source, three Kafka nodes, two
 * worker and two API processes of ours. Each test breaks one part while retry series are in flight and checks that
 * every task still ends `succeeded` and nothing is delivered by two series (`npm run test:cluster`).
 */
let cluster: Cluster;
let receiver: HttpReceiver;
let kafka: Kafka;
let temporal: Client;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  cluster = await startCluster({
    mode: 'test',
    stackDir,
    // Every series here refuses its first attempts on one receiver origin: the per-origin circuit breaker would
    // (rightly) hold them all back, which is not what these tests are about.
    appEnv: { LOG_LEVEL: 'warn', BREAKER_CONSECUTIVE_FAILURES: '10000' },
  });
  kafka = new Kafka({
    clientId: unique('cluster-test'),
    brokers: cluster.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    // kafkajs' own retry timing, stated: under vitest (NODE_ENV=test) kafkajs switches to its test timing (50 ms
    // first wait, 1 s cap), so a producer's retries ran out ~6 s after a node died, before the cluster had fenced
    // it and moved its partition leaders.
    retry: { initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  await createTopics(kafka, ['retry.requests'], 3);
  temporal = new Client({ connection: await Connection.connect({ address: cluster.temporalAddress }) });
});
afterAll(async () => {
  await temporal?.connection.close();
  await cluster?.stop();
  await receiver?.stop();
});

/** Creates `topic` (3 partitions, the cluster's replication factor) without kafkajs' own leader wait. */
async function createTopicNoWait(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: false });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until each broker's metadata lists `topic` with a leader for every partition: a new topic reaches the other
 * brokers' caches a moment later, and until then they answer "does not host this topic-partition".
 */
async function knownToEveryBroker(topic: string): Promise<void> {
  for (const broker of cluster.kafkaBrokers) {
    const admin = new Kafka({ clientId: unique('meta'), brokers: [broker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await until(
        () =>
          admin.fetchTopicMetadata({ topics: [topic] }).then(
            (meta) => meta.topics[0]?.partitions.every((p) => p.leader >= 0) ?? false,
            () => false,
          ),
        30_000,
        `${topic} in the metadata of ${broker}`,
      );
    } finally {
      await admin.disconnect();
    }
  }
}

const api = (i: number) => cluster.apiUrls[i % cluster.apiUrls.length]!;

/** POST /tasks through API `i` (the two APIs take turns); fails with the API's own answer. */
async function submit(i: number, task: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${api(i)}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source: 'cluster-test', client_id: 'c1', message_data: '{"n":1}', ...task }),
  });
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
}

async function taskState(id: string): Promise<string> {
  const res = await fetch(`${api(0)}/tasks/${id}`);
  return ((await res.json()) as { state?: string }).state ?? `HTTP ${res.status}`;
}

/** Waits until every task is `succeeded`; fails naming those that are not. */
async function allSucceed(ids: string[], timeoutMs: number): Promise<void> {
  let pending = ids;
  await until(
    async () => {
      const states = await Promise.all(pending.map(async (id) => [id, await taskState(id)] as const));
      pending = states.filter(([, s]) => s !== 'succeeded').map(([id]) => id);
      return pending.length === 0;
    },
    timeoutMs,
    `tasks to succeed; still pending: ${pending.join(', ')}`,
  );
}

/**
 * `n` HTTP tasks whose receiver fails the first `failures` attempts of each: series with retries in flight. `extra`
 * adds fields to each task (e.g. a `deliver_at`).
 */
async function startSeries(
  prefix: string,
  n: number,
  failures: number,
  extra: Record<string, unknown> = {},
): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => unique(`${prefix}-${i}`));
  const mode: ReceiverMode = { mode: 'fail_then_succeed', failures };
  await Promise.all(
    ids.map((id, i) =>
      submit(i, {
        id,
        destination_type: 'http',
        destination: { url: receiver.route(`/${id}`, mode) },
        max_retries: 10,
        base_delay: 1,
        max_delay: 4,
        ...extra,
      }),
    ),
  );
  return ids;
}

const attempts = (id: string) => receiver.requests(`/${id}`).length;

/**
 * Each series was delivered: its receiver saw `failures` refusals, then at least one and at most `maxDeliveries`
 * 200s. More than one 200 is allowed only where a process died during an attempt (its outcome was lost, so that one
 * attempt is tried again); more would mean a second series delivering after the first succeeded.
 */
function expectDelivered(ids: string[], failures: number, maxDeliveries: number) {
  for (const id of ids) {
    const delivered = attempts(id) - failures;
    expect(delivered, id).toBeGreaterThanOrEqual(1);
    expect(delivered, id).toBeLessThanOrEqual(maxDeliveries);
  }
}

describe('cluster profile', () => {
  it('failover: kill -9 of one of the two workers mid-series; the other completes every task', async () => {
    const ids = await startSeries('failover', 20, 2);
    await until(() => ids.every((id) => attempts(id) >= 1), 60_000, 'first attempts of every series');
    const victim = cluster.workers[0]!;
    victim.service.kill('SIGKILL');
    await victim.service.exited;
    await allSucceed(ids, 150_000);
    expectDelivered(ids, 2, 2);
    await victim.restart();
  });

  it('rolling restart: the workers restart one after the other while series are in flight; no task is lost', async () => {
    const ids = await startSeries('rolling', 20, 3);
    await until(() => ids.every((id) => attempts(id) >= 1), 60_000, 'first attempts of every series');
    for (const worker of cluster.workers) {
      await worker.service.stop(60_000); // SIGTERM: the worker drains (up to its 20 s grace), then exits
      await worker.restart();
    }
    await allSucceed(ids, 150_000);
    expectDelivered(ids, 3, 1);
  });

  it('rolling restart onto a replay-safe workflow change: running and parked tasks keep their path, new ones take the new one', async () => {
    // The next release: the released workflows plus one patched() change (rollout-workflows.ts), prebuilt.
    const bundlePath = path.join(cluster.dataDir, 'rollout-workflows.js');
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, 'rollout-workflows.ts'),
      logger: quiet,
    });
    writeFileSync(bundlePath, code);

    const running = await startSeries('rollout-running', 10, 3);
    // Parked in a durable timer from before the first restart until after the last (the roll takes 1–2 min here).
    const parked = await startSeries('rollout-parked', 5, 1, {
      deliver_at: new Date(Date.now() + 150_000).toISOString(),
    });
    await until(() => running.every((id) => attempts(id) >= 1), 60_000, 'first attempts of every series');
    expect(parked.map(attempts), 'parked tasks waiting when the roll begins').toEqual(parked.map(() => 0));
    for (const worker of cluster.workers) {
      await worker.service.stop(60_000);
      await worker.restart({ WORKFLOW_BUNDLE_PATH: bundlePath });
    }
    const started = await startSeries('rollout-new', 10, 1);
    await allSucceed([...running, ...parked, ...started], 180_000);

    for (const id of [...running, ...parked, ...started]) {
      const events = (await temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      // A nondeterministic change would fail the replaying workflow tasks (and retry them forever).
      const failed = events.flatMap((e) => e.workflowTaskFailedEventAttributes ?? []);
      expect(
        failed.map((f) => `${f.cause}: ${f.failure?.message}`),
        id,
      ).toEqual([]);
      const patches = events.flatMap((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((d) =>
          (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString()),
        ),
      );
      expect(
        patches.some((p) => p.includes(rolloutPatch)),
        id,
      ).toBe(started.includes(id));
      const headers = receiver.requests(`/${id}`).map((r) => r.headers[rolloutHeader]);
      expect(new Set(headers), id).toEqual(new Set([started.includes(id) ? 'patched' : undefined]));
    }
    expectDelivered(running, 3, 1);
  }, 420_000);

  it('one Kafka broker down: Kafka deliveries and the ingress go on; 0 lost, no task started twice', async () => {
    const target = unique('cluster-target');
    await createTopicNoWait(target);
    await knownToEveryBroker(target);
    const reader = await readTopic(kafka, target);
    const node = cluster.kafka[0]!;
    node.service.kill('SIGKILL');
    await node.service.exited;
    try {
      // Kafka deliveries submitted through the APIs while the broker is down.
      const viaApi = Array.from({ length: 10 }, (_, i) => unique(`kafka-api-${i}`));
      await Promise.all(
        viaApi.map((id, i) =>
          submit(i, {
            id,
            destination_type: 'kafka',
            destination: { brokers: cluster.kafkaBrokers, topic: target },
            key: id,
            max_retries: 10,
            base_delay: 1,
          }),
        ),
      );
      // Tasks arriving through the ingress, each delivering once to its own HTTP route.
      const viaIngress = Array.from({ length: 10 }, (_, i) => unique(`kafka-ingress-${i}`));
      // An upstream producer retries until the cluster has fenced the dead node and moved its partition leaders
      // (broker.session.timeout.ms, 9 s, and longer on a loaded machine): ten retries wait up to ~2 min in all.
      const producer = kafka.producer({ retry: { retries: 10 } });
      await producer.connect();
      await produce(
        producer,
        'retry.requests',
        viaIngress.map((id) => ({
          key: id,
          value: JSON.stringify({
            id,
            source: 'cluster-test',
            client_id: 'c1',
            destination_type: 'http',
            destination: { url: receiver.route(`/${id}`, { mode: 'succeed' }) },
            message_data: '{"via":"ingress"}',
            max_retries: 10,
            base_delay: 1,
          }),
        })),
      );
      await producer.disconnect();

      await allSucceed([...viaApi, ...viaIngress], 150_000);
      const received = await reader.waitFor(viaApi.length, 60_000);
      expect(new Set(received.map((r) => r.message.key?.toString()))).toEqual(new Set(viaApi));
      // One workflow per ingress message, so exactly one delivery each.
      for (const id of viaIngress) expect(attempts(id), id).toBe(1);
    } finally {
      await reader.close();
      await node.restart();
    }
  });

  it('PostgreSQL restart with tasks pending: every task is delivered afterwards', async () => {
    const ids = await startSeries('postgres', 10, 1);
    await until(() => ids.every((id) => attempts(id) >= 1), 60_000, 'first attempts of every series');
    // Fast shutdown (SIGINT): open transactions are rolled back, clients cut off, as in a crash of the primary.
    const pg = cluster.postgres;
    pg.service.kill('SIGINT');
    await pg.service.exited;
    // Five seconds of downtime: the series' next attempts fall due while the database is away.
    await new Promise((r) => setTimeout(r, 5_000));
    await pg.restart();
    await allSucceed(ids, 180_000);
    expectDelivered(ids, 1, 2);
  });

  it("the Web UI serves its page and lists the cluster's tasks through its own API", async () => {
    const page = await fetch(cluster.temporalUiUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    // Visibility is eventually consistent: the list catches up with the tasks above within moments.
    const list = `${cluster.temporalUiUrl}/api/v1/namespaces/default/workflows`;
    await until(
      async () => {
        const res = await fetch(list);
        const body = (await res.json()) as { executions?: unknown[] };
        return res.status === 200 && (body.executions?.length ?? 0) > 0;
      },
      30_000,
      `the tasks in ${list}`,
    );
  });
});
