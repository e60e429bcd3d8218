/**
 * Records workflow histories of the retry workflow as it is now, for the replay test (replay-histories.test.ts).
 * Run by hand before a change to workflow code, against a real stack (dev server, Kafka broker, local HTTP receiver):
 *
 *   npx tsx test/workflows/record-histories.ts [label] [scenario-prefix,…]
 *
 * With scenario names, only those are recorded (a change records its new behaviour without re-recording the rest).
 * Each scenario's runs are written to test/workflows/histories/<label>-<scenario>[-run<n>].json (label defaults to
 * the short git commit). Keep older recordings: every stored history must replay against every later workflow.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Kafka, logLevel } from 'kafkajs';
import { historyToStoredJson } from './stored-history';
import { createDeliveryDeps } from '../../activities';
import { receiverAckUpdate } from '../../domain/ack';
import { JobWorkflowType, type JobProgress } from '../../domain/jobs';
import { cancelUpdate, requeueUpdate, retryNowUpdate } from '../../domain/messages';
import { TaskState, type TaskStatus } from '../../domain/status';
import { TaskInput, type TaskRequest } from '../../domain/task';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { startStack } from '../../scripts/stack';
import type { bulkJob, orderingKey, retryTask } from '../../workflows';
import { startTask } from '../../client/tasks';
import { readLiveStatus } from '../../client/series-progress';
import {
  DEFERRED_START_MS,
  KeyBehaviour,
  OnDeadLetter,
  OrderingKeyWorkflowType,
  enqueueSignal,
  orderingWorkflowId,
  type QueueEntry,
} from '../../domain/ordering';
import { WorkflowBehaviour } from '../../domain/visibility';
import { HttpReceiver } from '../support/http-receiver';
import { createReleaseWorker } from '../../worker/worker';
import { pauseDestination, resumeDestination } from '../../client/destinations';
import { destinationQuery, destinationWorkflowId } from '../../domain/destination-pause';
import { DestinationPauses } from '../../worker/destination-pauses';
import { notifierWorkflowId } from '../../domain/notifications';
import { createLifecycleWiring } from '../../worker/lifecycle';
import { serviceActivities } from '../../worker/activities';

const outDir = path.resolve(__dirname, 'histories');
const label =
  process.argv[2] ?? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() ?? 'local';

interface Ctx {
  client: Client;
  taskQueue: string;
  receiver: HttpReceiver;
  topic: string;
  brokers: string[];
}

type Handle = WorkflowHandle<typeof retryTask>;

/**
 * How a scenario starts its task. Absent: the workflow's initial behaviour (no `behaviour` input). `starter`: through
 * the service's own starter (client/tasks.ts startTask: the lean behaviour, and lead-time release when
 * `releaseLeadMs` is given, as the API and the ingress start tasks).
 */
type StartHow = { starter: true; releaseLeadMs?: number };
type Start = (t: Partial<TaskRequest>, how?: StartHow) => Promise<Handle>;

async function waitFor(handle: Handle, pred: (s: TaskStatus) => boolean, what: string): Promise<TaskStatus> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const s = await readLiveStatus(handle);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`${handle.workflowId}: never reached ${what}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const awaitingAck = (attempt: number) => (s: TaskStatus) => s.state === TaskState.AwaitingAck && s.attempt === attempt;
const armed = (s: TaskStatus) => s.details.startsWith('armed');
const parked = (s: TaskStatus) => s.state === TaskState.DeadLettered || s.state === TaskState.DeadLetterFailed;

/** Each scenario starts one task and drives it to an end (or a long wait) through the public messages. */
const scenarios: Record<string, (ctx: Ctx, start: Start) => Promise<void>> = {
  // A timer before attempt 1, then a first-try HTTP success.
  'http-timer-then-success': async ({ receiver }, start) => {
    const h = await start({ destination: { url: receiver.route('/ok', { mode: 'succeed' }) }, deliver_at: at(1500) });
    await h.result();
  },
  // Retries held by the server inside one attempt series, then success.
  'http-series-retries-success': async ({ receiver }, start) => {
    const url = receiver.route('/flaky', { mode: 'fail_then_succeed', failures: 2 });
    const h = await start({ destination: { url }, base_delay: 1 });
    await h.result();
  },
  // Retry-After honoured, then success.
  'http-retry-after': async ({ receiver }, start) => {
    const url = receiver.route('/busy', { mode: 'status', status: 429, headers: { 'retry-after': '1' } });
    const h = await start({ destination: { url }, base_delay: 1, max_retries: 2 });
    await waitFor(h, parked, 'parked');
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Exhausted, sent to an HTTP dead destination, parked; then cancelled while parked.
  'http-dead-lettered-parked-cancelled': async ({ receiver }, start) => {
    const url = receiver.route('/down', { mode: 'status', status: 503 });
    const dead = receiver.route('/dead', { mode: 'succeed' });
    const h = await start({ destination: { url }, base_delay: 1, max_retries: 2, dead_destination: { url: dead } });
    await waitFor(h, parked, 'parked');
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Refused at once (permanent), the dead destination refuses too: parked as dead_letter_failed; requeued with a
  // new destination (continue-as-new), delivered.
  'http-dead-letter-failed-requeued': async ({ receiver }, start) => {
    const url = receiver.route('/gone', { mode: 'status', status: 410 });
    const dead = receiver.route('/dead-refuses', { mode: 'status', status: 400 });
    const ok = receiver.route('/ok2', { mode: 'succeed' });
    const h = await start({ destination: { url }, base_delay: 1, max_retries: 3, dead_destination: { url: dead } });
    await waitFor(h, parked, 'parked');
    await h.executeUpdate(requeueUpdate, { args: [{ overrides: { destination: { url: ok } }, reason: 'recorded' }] });
    await h.result();
  },
  // A Kafka destination, first try; no dead destination.
  'kafka-success': async ({ topic, brokers }, start) => {
    const h = await start({ destination_type: 'kafka', destination: { brokers, topic }, key: 'k1' });
    await h.result();
  },
  // HTTP primary exhausted, dead-lettered to Kafka, parked; requeued without overrides; cancelled while parked again.
  'kafka-dead-letter-requeued-cancelled': async ({ receiver, topic, brokers }, start) => {
    const url = receiver.route('/down2', { mode: 'status', status: 500 });
    const h = await start({
      destination: { url },
      base_delay: 1,
      max_retries: 1,
      dead_destination: { brokers, topic },
    });
    await waitFor(h, parked, 'parked');
    await h.executeUpdate(requeueUpdate, { args: [{ reason: 'recorded' }] });
    await waitFor(h, (s) => parked(s) && s.requeues === 1, 'parked again');
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Cancelled during the timer before attempt 1.
  'http-cancelled-while-scheduled': async ({ receiver }, start) => {
    const h = await whileScheduled(
      start({ destination: { url: receiver.route('/never', { mode: 'succeed' }) }, delay_tier: '1h' }),
    );
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Cancelled while the series waits between attempts (progress read by the local activity first).
  'http-cancelled-in-series': async ({ receiver }, start) => {
    const url = receiver.route('/down3', { mode: 'status', status: 503 });
    const h = await afterFirstAttempt(
      receiver,
      '/down3',
      start({ destination: { url }, base_delay: 30, deliver_at: at(0) }),
    );
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Retry-now during a wait held by the server: a new series at once, then success.
  'http-retry-now-in-series': async ({ receiver }, start) => {
    const url = receiver.route('/flaky2', { mode: 'fail_then_succeed', failures: 1 });
    const h = await afterFirstAttempt(
      receiver,
      '/flaky2',
      start({ destination: { url }, base_delay: 60, deliver_at: at(0) }),
    );
    await h.executeUpdate(retryNowUpdate, { args: [] });
    await h.result();
  },
  // Receiver acknowledgement: a 202, then the receiver's ack.
  'http-ack-success': async ({ receiver }, start) => {
    const h = await awaitingFirstAck(receiver, '/ack-ok', start);
    await h.executeUpdate(receiverAckUpdate, { args: [{ target: 'primary', round: 0, attempt: 1, outcome: 'ack' }] });
    await h.result();
  },
  // No ack within ack_timeout: attempt 1 fails (ack_timeout), attempt 2 after the backoff is acked.
  'http-ack-timeout-then-ack': async ({ receiver }, start) => {
    const url = receiver.route('/ack-late', { mode: 'succeed', status: 202 });
    const h = await start({ destination: { url, ack_timeout: 1 }, base_delay: 1, max_retries: 5 });
    const s = await waitFor(
      h,
      (st) => st.state === TaskState.AwaitingAck && st.attempt >= 2,
      'awaiting ack of attempt 2',
    );
    await h.executeUpdate(receiverAckUpdate, {
      args: [{ target: 'primary', round: 0, attempt: s.attempt, outcome: 'ack' }],
    });
    await h.result();
  },
  // A retryable nack, then a permanent one: dead destination (with its own ack) at once, parked, cancelled.
  'http-nack-dead-letter-acked-parked-cancelled': async ({ receiver }, start) => {
    const url = receiver.route('/nacks', { mode: 'succeed', status: 202 });
    const dead = receiver.route('/dead-acks', { mode: 'succeed', status: 202 });
    const h = await start({
      destination: { url, ack_timeout: 300 },
      dead_destination: { url: dead, ack_timeout: 300 },
      base_delay: 1,
    });
    await waitFor(h, awaitingAck(1), 'awaiting ack');
    const nack = { target: 'primary', round: 0, outcome: 'nack', reason: 'recorded' } as const;
    await h.executeUpdate(receiverAckUpdate, { args: [{ ...nack, attempt: 1, retryable: true }] });
    await waitFor(h, awaitingAck(2), 'awaiting ack of attempt 2');
    await h.executeUpdate(receiverAckUpdate, { args: [{ ...nack, attempt: 2, retryable: false }] });
    await waitFor(
      h,
      (s) => s.state === TaskState.AwaitingAck && s.details.includes('dead destination'),
      'dead-letter ack',
    );
    await h.executeUpdate(receiverAckUpdate, {
      args: [{ target: 'dead_letter', round: 0, attempt: 1, outcome: 'ack' }],
    });
    await waitFor(h, parked, 'parked');
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Requeued while awaiting an ack (continue-as-new); the new round's attempt 1 is acked.
  'http-ack-requeued': async ({ receiver }, start) => {
    const h = await awaitingFirstAck(receiver, '/ack-rq', start);
    await h.executeUpdate(requeueUpdate, { args: [{ reason: 'recorded' }] });
    await waitFor(h, (s) => awaitingAck(1)(s) && s.requeues === 1, 'awaiting ack after requeue');
    await h.executeUpdate(receiverAckUpdate, { args: [{ target: 'primary', round: 1, attempt: 1, outcome: 'ack' }] });
    await h.result();
  },
  // Cancelled while awaiting an ack.
  'http-ack-cancelled': async ({ receiver }, start) => {
    const h = await awaitingFirstAck(receiver, '/ack-cx', start);
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Requeued with a request id (as a bulk job does), then the same request again: the second run remembers the id
  // and answers already_applied; delivered when the new first delay ends.
  'http-requeued-twice-by-request-id': async ({ receiver }, start) => {
    const url = receiver.route('/down4', { mode: 'status', status: 503 });
    const ok = receiver.route('/ok4', { mode: 'succeed' });
    const h = await start({ destination: { url }, base_delay: 1, max_retries: 1 });
    await waitFor(h, parked, 'parked');
    const req = {
      request_id: 'job:recorded',
      only_parked: true,
      overrides: { destination: { url: ok }, deliver_at: at(3000) },
    };
    await h.executeUpdate(requeueUpdate, { args: [req] });
    await waitFor(h, (s) => s.requeues === 1 && s.state === TaskState.Scheduled, 'requeued');
    const again = await h.executeUpdate(requeueUpdate, { args: [req] });
    if (!again.already_applied) throw new Error('the repeated requeue was applied again');
    await h.result();
  },
  // Requeued while waiting for attempt 1 (continue-as-new), delivered at once.
  'http-requeued-while-waiting': async ({ receiver }, start) => {
    const h = await whileScheduled(
      start({ destination: { url: receiver.route('/ok3', { mode: 'succeed' }) }, delay_tier: '1h' }),
    );
    await h.executeUpdate(requeueUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
  // Lean behaviour (as the service starts tasks): base_delay 0, delivered at the first try without a timer.
  'lean-http-first-try': async ({ receiver }, start) => {
    const url = receiver.route('/lean-ok', { mode: 'succeed' });
    const h = await start({ destination: { url }, base_delay: 0 }, { starter: true });
    await h.result();
  },
  // Lean behaviour: the timer before attempt 1 (base_delay 1 s), then delivered.
  'lean-http-timer-then-success': async ({ receiver }, start) => {
    const url = receiver.route('/lean-timer', { mode: 'succeed' });
    const h = await start({ destination: { url } }, { starter: true });
    await h.result();
  },
  // Lead-time release: a timer until the lead, then the delivery is armed on the release queue and released by the
  // worker's gate at its due time.
  'lean-http-armed-released-on-time': async ({ receiver }, start) => {
    const url = receiver.route('/armed-ok', { mode: 'succeed' });
    const h = await start({ destination: { url }, deliver_at: at(5000) }, { starter: true, releaseLeadMs: 3000 });
    await h.result();
  },
  // Lead-time release: armed at once (due sooner than the lead); retry-now releases it early.
  'lean-http-armed-retry-now': async ({ receiver }, start) => {
    const url = receiver.route('/armed-now', { mode: 'succeed' });
    const h = await start({ destination: { url }, deliver_at: at(60_000) }, { starter: true, releaseLeadMs: 120_000 });
    await waitFor(h, armed, 'armed');
    await h.executeUpdate(retryNowUpdate, { args: [] });
    await h.result();
  },
  // Lead-time release: armed at once; a cancel holds it back and nothing is sent.
  'lean-http-armed-cancelled': async ({ receiver }, start) => {
    const url = receiver.route('/armed-never', { mode: 'succeed' });
    const h = await start({ destination: { url }, deliver_at: at(60_000) }, { starter: true, releaseLeadMs: 120_000 });
    await waitFor(h, armed, 'armed');
    await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await h.result();
  },
};

/** A task whose receiver answers 202 on `path`, once it awaits the ack of attempt 1. */
async function awaitingFirstAck(receiver: HttpReceiver, path: string, start: Start): Promise<Handle> {
  const h = await start({
    destination: { url: receiver.route(path, { mode: 'succeed', status: 202 }), ack_timeout: 300 },
  });
  await waitFor(h, awaitingAck(1), 'awaiting ack');
  return h;
}

/** Starts ordered task `name` as the API does; `{ enqueue: false }`: its workflow only (a starter that stopped). */
type StartOrdered = (name: string, over: Partial<TaskRequest>, how?: { enqueue: false }) => Promise<Handle>;
/** The scenario's ordering key and its key workflow id. */
type OrderedKey = { key: string; keyId: string };

/**
 * Ordered delivery: several tasks on one ordering key, started as the API starts them (the task, then its place on
 * the key workflow). Every task's runs and the key workflow's runs are recorded.
 */
const orderedScenarios: Record<
  string,
  /** Resolves with the ids of other workflows the scenario made that are recorded too (an orphan turn). */
  (ctx: Ctx, start: StartOrdered, key: OrderedKey) => Promise<void | string[]>
> = {
  // The head fails twice then succeeds; the next two follow in order.
  'ordered-head-fails-then-next': async ({ receiver }, start) => {
    const a = await start('a', {
      destination: { url: receiver.route('/o-flaky', { mode: 'fail_then_succeed', failures: 2 }) },
    });
    const [b, c] = [await succeeding(receiver, start, 'b'), await succeeding(receiver, start, 'c')];
    for (const h of [a, b, c]) await h.result();
  },
  // Under "continue" the dead-lettered head lets the next proceed; requeued, it goes to the back and succeeds.
  'ordered-continue-requeued': async ({ receiver }, start) => {
    const a = await refused(receiver, start, 'continue');
    const b = await succeeding(receiver, start, 'b');
    await waitFor(a, parked, 'parked');
    await b.result();
    const url = receiver.route('/o-ok', { mode: 'succeed' });
    await a.executeUpdate(requeueUpdate, { args: [{ overrides: { destination: { url } } }] });
    await a.result();
  },
  // A task whose starter stopped before enqueueing it joins its key by itself a minute later, while the head (which
  // also checks its place then, holding the turn) is still failing; it goes next.
  'ordered-rejoin': async ({ receiver }, start) => {
    const a = await start('a', {
      destination: { url: receiver.route('/o-slow', { mode: 'fail_then_succeed', failures: 1 }) },
      base_delay: 30,
    });
    const b = await start(
      'b',
      { destination: { url: receiver.route('/o-ok', { mode: 'succeed' }) } },
      { enqueue: false },
    );
    for (const h of [a, b]) await h.result();
  },
  // One enqueue signal carries three entries (a starter's group commit): a task id that no longer exists (closed and
  // deleted by retention), then A and B. The grant to the vanished id starts an orphan turn, which passes it to A.
  'ordered-batch-orphan': async ({ client, taskQueue, receiver }, start, { key, keyId }) => {
    const url = receiver.route('/o-ok', { mode: 'succeed' });
    const a = await start('a', { destination: { url } }, { enqueue: false });
    const b = await start('b', { destination: { url } }, { enqueue: false });
    const ghost = `${key}-ghost`;
    const entry = (taskId: string) => ({ task_id: taskId, on_dead_letter: OnDeadLetter.Continue, deferred: true });
    await client.workflow.signalWithStart<typeof orderingKey, [QueueEntry, ...QueueEntry[]]>(OrderingKeyWorkflowType, {
      taskQueue,
      workflowId: keyId,
      args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked }],
      signal: enqueueSignal,
      signalArgs: [entry(ghost), entry(a.workflowId), entry(b.workflowId)],
    });
    for (const h of [a, b]) await h.result();
    await client.workflow.getHandle(ghost).result();
    return [ghost];
  },
  // The key probes the task holding the turn (every 2 s here); the holder changes under one probe timer.
  'ordered-probe': async ({ client, taskQueue, receiver }, start, { key, keyId }) => {
    await client.workflow.start<typeof orderingKey>(OrderingKeyWorkflowType, {
      taskQueue,
      workflowId: keyId,
      args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked, probe_interval_ms: 2_000 }],
    });
    const a = await start('a', {
      destination: { url: receiver.route('/o-flaky', { mode: 'fail_then_succeed', failures: 1 }) },
      base_delay: 3,
    });
    const [b, c] = [await succeeding(receiver, start, 'b'), await succeeding(receiver, start, 'c')];
    for (const h of [a, b, c]) await h.result();
  },
  // The key workflow is terminated (from the Web UI) while B holds the turn with C and D promised after it; E,
  // accepted afterwards, restarts the key gathering (it waits for the check instant, hours away: recorded open).
  // B hands the turn on to C and D regardless; the restarted key hears of turns it never granted.
  'ordered-key-terminated': async ({ client, receiver }, start, { keyId }) => {
    const a = await start('a', {
      destination: { url: receiver.route('/o-flaky', { mode: 'fail_then_succeed', failures: 1 }) },
    });
    const b = await start('b', {
      destination: { url: receiver.route('/o-flaky-b', { mode: 'fail_then_succeed', failures: 1 }) },
      base_delay: 5,
    });
    const [c, d] = [await succeeding(receiver, start, 'c'), await succeeding(receiver, start, 'd')];
    await a.result();
    await until(() => receiver.requests('/o-flaky-b').length >= 1);
    const terminated = await client.workflow.getHandle(keyId).describe();
    await client.workflow.getHandle(keyId).terminate('recorded: terminated from the Web UI');
    await saveRuns(
      client,
      keyId,
      terminated.raw.workflowExecutionInfo?.firstRunId || terminated.runId,
      `${label}-ordered-key-terminated-key-before`,
    );
    const e = await succeeding(receiver, start, 'e');
    for (const h of [b, c, d]) await h.result();
    await waitFor(e, (s) => s.state === TaskState.Blocked, 'blocked');
  },
  // Under "block" the next waits for the dead-lettered head; a cancel of the head lets it go; a waiting task is cancelled.
  'ordered-block-cancelled': async ({ receiver }, start) => {
    const a = await refused(receiver, start, 'block');
    const [b, c] = [await succeeding(receiver, start, 'b'), await succeeding(receiver, start, 'c')];
    await waitFor(a, parked, 'parked');
    for (const h of [c, a]) await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
    await b.result();
  },
};

/** A recorded task: an HTTP task with 3 retries 1 s apart unless `over` says otherwise. */
function recordedTask(over: Partial<TaskRequest>) {
  return TaskInput.parse({
    source: 'recorder',
    client_id: 'client-1',
    destination_type: 'http',
    max_retries: 3,
    base_delay: 1,
    message_data: '{"order":42}',
    ...over,
  });
}

/** Ordered task `name`, delivered at its first try. */
function succeeding(receiver: HttpReceiver, start: StartOrdered, name: string): Promise<Handle> {
  return start(name, { destination: { url: receiver.route('/o-ok', { mode: 'succeed' }) } });
}

/** Ordered task `a`, refused at once (410) and so dead-lettered, with `on_dead_letter` = `mode`. */
function refused(receiver: HttpReceiver, start: StartOrdered, mode: 'continue' | 'block'): Promise<Handle> {
  const url = receiver.route('/o-gone', { mode: 'status', status: 410 });
  return start('a', { destination: { url }, on_dead_letter: mode });
}

/** The started task, once it waits for attempt 1. */
async function whileScheduled(started: Promise<Handle>): Promise<Handle> {
  const h = await started;
  await waitFor(h, (s) => s.state === TaskState.Scheduled && s.next_attempt_at !== undefined, 'scheduled');
  return h;
}

/** The started task, once its first attempt reached `path` and its series waits for the next one. */
async function afterFirstAttempt(receiver: HttpReceiver, path: string, started: Promise<Handle>): Promise<Handle> {
  const h = await started;
  await until(() => receiver.requests(path).length >= 1);
  await new Promise((r) => setTimeout(r, 1500));
  return h;
}

/** The scenario-prefix argument (comma-separated name prefixes) records just those scenarios; all when absent. */
function chosen(name: string): boolean {
  const only = process.argv[3]?.split(',').filter(Boolean);
  return !only || only.some((prefix) => name.startsWith(prefix));
}

function at(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

async function until(pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition never met');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const stack = await startStack({ mode: 'test', requireKafka: true });
  const receiver = await HttpReceiver.start();
  const brokers = stack.kafkaBrokers!;
  const topic = `recorded-${Date.now()}`;
  const admin = new Kafka({ clientId: 'record', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const taskQueue = 'record-histories';
  const config = loadConfig({
    TASK_QUEUE: taskQueue,
    SSRF_ALLOW: '127.0.0.1',
    KAFKA_BROKERS: brokers.join(','),
    ACK_SECRET: 'record-histories-ack-secret',
    // Lifecycle notifications on: dead-lettered tasks and finished jobs report to the notifier.
    NOTIFY_WEBHOOK_URL: receiver.route('/notifications', { mode: 'succeed' }),
    NOTIFY_COALESCE_SECONDS: '1',
    // Notification tasks are started by the worker: no lead-time release (this recorder runs no release worker).
    RELEASE_LEAD_SECONDS: '0',
  });
  const logger = createLogger('silent');
  const nativeConnection = await NativeConnection.connect({ address: stack.temporalAddress });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  pauses = new DestinationPauses({
    client,
    taskQueue,
    logger,
    identity: 'record-histories',
    refreshMs: 200,
    autoPauseAfterMs: 0,
    autoPauseAfterFailures: 0,
  });
  await pauses.start();
  const lifecycle = createLifecycleWiring({ client, config, logger });
  const deps = createDeliveryDeps({
    config,
    logger,
    destinationEvents: pauses,
    lifecycle: lifecycle.emitter,
  });
  // One set of activities (and so one release gate) for the task queue and its release queue, as in the service.
  const activities = serviceActivities({ deps, client, namespace: 'default', logger, lifecycle });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: path.resolve(__dirname, '../../workflows'),
    activities,
    maxHeartbeatThrottleInterval: '1 second',
  });
  const releaseWorker = await createReleaseWorker({
    connection: nativeConnection,
    namespace: 'default',
    config,
    logger,
    activities,
    taskQueue,
  });
  mkdirSync(outDir, { recursive: true });
  try {
    const recordAll = async () => {
      for (const [name, run] of Object.entries(scenarios).filter(([n]) => chosen(n))) {
        const id = `${label}-${name}-${Date.now()}`;
        let firstRunId = '';
        const start: Start = async (over, how) => {
          const task = recordedTask({ id, ...over });
          if (how?.starter) {
            const started = await startTask(client, taskQueue, task, { releaseLeadMs: how.releaseLeadMs });
            firstRunId = started.runId;
            return client.workflow.getHandle<typeof retryTask>(id);
          }
          const h = await client.workflow.start<typeof retryTask>('retryTask', {
            taskQueue,
            workflowId: id,
            args: [{ task }],
          });
          firstRunId = h.firstExecutionRunId;
          return h;
        };
        await run({ client, taskQueue, receiver, topic, brokers }, start);
        await saveRuns(client, id, firstRunId, `${label}-${name}`);
        console.log(`recorded ${name}`);
      }
      if (chosen('pause-released')) {
        await recordPause(client, taskQueue, receiver);
        console.log('recorded pause-released');
      }
      if (chosen('pause-cancelled')) {
        await recordPauseCancelled(client, taskQueue, receiver);
        console.log('recorded pause-cancelled');
      }
      if (chosen('bulk-job')) {
        await recordBulkJob(client, taskQueue, receiver);
        console.log('recorded bulk-job');
      }
      for (const [name, run] of Object.entries(orderedScenarios).filter(([n]) => chosen(n))) {
        const key = `${label}-${name}-${Date.now()}`;
        const ids: string[] = [];
        const start: StartOrdered = async (suffix, over, how) => {
          const task = recordedTask({ id: `${key}-${suffix}`, ordering_key: key, ...over });
          if (how?.enqueue === false) {
            const args = [{ task, behaviour: WorkflowBehaviour.SeriesHandOff }] as const;
            await client.workflow.start<typeof retryTask>('retryTask', {
              taskQueue,
              workflowId: task.id,
              args: [...args],
              startDelay: DEFERRED_START_MS,
            });
          } else await startTask(client, taskQueue, task);
          ids.push(task.id);
          return client.workflow.getHandle<typeof retryTask>(task.id);
        };
        const others = await run({ client, taskQueue, receiver, topic, brokers }, start, {
          key,
          keyId: orderingWorkflowId(key),
        });
        for (const [i, id] of (others ?? []).entries()) {
          const desc = await client.workflow.getHandle(id).describe();
          await saveRuns(client, id, desc.runId, `${label}-${name}-other${i + 1}`);
        }
        for (const [i, id] of ids.entries()) {
          const desc = await client.workflow.getHandle(id).describe();
          await saveRuns(
            client,
            id,
            desc.raw.workflowExecutionInfo?.firstRunId || desc.runId,
            `${label}-${name}-task${i + 1}`,
          );
        }
        const keyId = orderingWorkflowId(key);
        const keyDesc = await client.workflow.getHandle(keyId).describe();
        await saveRuns(
          client,
          keyId,
          keyDesc.raw.workflowExecutionInfo?.firstRunId || keyDesc.runId,
          `${label}-${name}-key`,
        );
        console.log(`recorded ${name}`);
      }
      if (chosen('notifier')) {
        // The notifier of this task queue, after the scenarios above reported to it (it runs on; open histories replay).
        const id = notifierWorkflowId(taskQueue);
        await until(() => receiver.requests('/notifications').length > 0);
        const desc = await client.workflow.getHandle(id).describe();
        await saveRuns(client, id, desc.raw.workflowExecutionInfo?.firstRunId || desc.runId, `${label}-notifier`);
        console.log('recorded notifier');
      }
    };
    await releaseWorker.runUntil(worker.runUntil(recordAll));
  } finally {
    await deps.close();
    await nativeConnection.close();
    await connection.close();
    await receiver.stop();
    await stack.stop();
  }
}

/**
 * A bulk requeue job over two parked tasks and one unknown id (skipped), paced at 2 per second in batches of 2, that
 * continues as new after each batch (one history file per run).
 */
async function recordBulkJob(client: Client, taskQueue: string, receiver: HttpReceiver): Promise<void> {
  const url = receiver.route('/down5', { mode: 'status', status: 503 });
  const ids: string[] = [];
  for (const n of [1, 2]) {
    const task = TaskInput.parse({
      id: `${label}-bulk-job-task${n}-${Date.now()}`,
      source: 'recorder',
      client_id: 'client-1',
      destination_type: 'http',
      destination: { url },
      max_retries: 0,
      base_delay: 1,
      message_data: '{"order":42}',
    });
    const h = await client.workflow.start<typeof retryTask>('retryTask', {
      taskQueue,
      workflowId: task.id,
      args: [{ task }],
    });
    await waitFor(h, parked, 'parked');
    ids.push(task.id);
  }
  const id = `${label}-bulk-job-${Date.now()}`;
  const job = await client.workflow.start<typeof bulkJob>(JobWorkflowType, {
    taskQueue,
    workflowId: id,
    args: [
      {
        spec: {
          kind: 'requeue',
          target: { type: 'ids', ids: [...ids, 'no-such-task'] },
          task_queue: taskQueue,
          per_second: 2,
          batch_size: 2,
          overrides: { deliver_at: at(3_600_000) },
        },
        batches_per_run: 1,
      },
    ],
  });
  const progress: JobProgress = await job.result();
  if (progress.done !== 2 || progress.skipped !== 1) throw new Error(`bulk job: ${JSON.stringify(progress)}`);
  await saveRuns(client, id, job.firstExecutionRunId, `${label}-bulk-job`);
}

/** Writes every run of a workflow id (first run first, following continue-as-new), so chains are kept whole. */
let pauses: DestinationPauses | undefined;

/** A task whose destination is paused before its first attempt: it waits in `paused`, then resume releases it. */
async function recordPause(client: Client, taskQueue: string, receiver: HttpReceiver): Promise<void> {
  const url = receiver.route('/paused', { mode: 'succeed' });
  const ref = { client, taskQueue, key: new URL(url).origin };
  await pauseDestination(ref, { by: 'record-histories', reason: 'recorded' });
  await pauses?.refresh();
  const id = `${label}-pause-released-${Date.now()}`;
  const h = await client.workflow.start<typeof retryTask>('retryTask', {
    taskQueue,
    workflowId: id,
    args: [{ task: recordedTask({ id, destination: { url } }) }],
  });
  await waitFor(h, (s) => s.state === TaskState.Paused, 'paused');
  await resumeDestination(ref, { by: 'record-histories', per_second: 10 });
  await h.result();
  await saveRuns(client, id, h.firstExecutionRunId, `${label}-pause-released`);
  const control = client.workflow.getHandle(destinationWorkflowId(taskQueue, ref.key));
  const runId = (await control.describe()).runId;
  await control.terminate('recorded');
  await saveRuns(client, control.workflowId, runId, `${label}-pause-released-destination`);
}

/** A task cancelled while its destination is paused: it leaves the destination's waiting list. */
async function recordPauseCancelled(client: Client, taskQueue: string, receiver: HttpReceiver): Promise<void> {
  const url = receiver.route('/paused-cancelled', { mode: 'succeed' });
  const ref = { client, taskQueue, key: new URL(url).origin };
  await pauseDestination(ref, { by: 'record-histories', reason: 'recorded' });
  await pauses?.refresh();
  const id = `${label}-pause-cancelled-${Date.now()}`;
  const h = await client.workflow.start<typeof retryTask>('retryTask', {
    taskQueue,
    workflowId: id,
    args: [{ task: recordedTask({ id, destination: { url } }) }],
  });
  await waitFor(h, (s) => s.state === TaskState.Paused, 'paused');
  const control = client.workflow.getHandle(destinationWorkflowId(taskQueue, ref.key));
  await h.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded' }] });
  await h.result();
  for (let i = 0; i < 100 && (await control.query(destinationQuery)).tasks_waiting !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if ((await control.query(destinationQuery)).tasks_waiting !== 0) throw new Error('the cancelled task still waits');
  await saveRuns(client, id, h.firstExecutionRunId, `${label}-pause-cancelled`);
  const runId = (await control.describe()).runId;
  await control.terminate('recorded');
  await saveRuns(client, control.workflowId, runId, `${label}-pause-cancelled-destination`);
}

async function saveRuns(client: Client, workflowId: string, firstRunId: string, file: string): Promise<void> {
  const histories = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.push(history);
    const last = history.events?.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  for (const [i, history] of histories.entries()) {
    const name = histories.length > 1 ? `${file}-run${i + 1}.json` : `${file}.json`;
    writeFileSync(path.join(outDir, name), historyToStoredJson(history));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
