import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowIdReusePolicy, isGrpcServiceError, type Client } from '@temporalio/client';
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaConfig,
  type KafkaMessage,
  type logCreator,
  type Producer,
} from 'kafkajs';
import { createSubmitter, TargetRefusedError } from '../client/submit';
import { TaskAlreadyExistsError, type StartedTask } from '../client/tasks';
import { delayTierNames, tierTopic, type DelayTier } from '../domain/tiers';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/metrics';
import { RetryHeader } from '../sdk/headers';
import { parseIngressMessage, type IngressDefaults, MalformedMessage, type ParseResult } from './parse-message';
import { OffsetWindow } from './offset-window';

/**
 * The Kafka ingress: consumes the retry-request topic and the delay-tier topics and starts one `retryTask` workflow
 * per message.
 *
 * Guarantees
 * - Idempotent: the task id (= workflow id) is the message-id header or `kafka-<topic>-<partition>-<offset>`, and starts
 *   use `REJECT_DUPLICATE`, so a re-consumed message never starts a second run, whether its task is open or closed.
 * - At-least-once hand-over: a message's offset is committed only after Temporal accepted its start (or reported it a
 *   duplicate), or after it was copied to the dead-letter topic. Offsets advance over the contiguous done prefix only.
 * - Backpressure: at most `maxInFlightPerPartition` starts per partition; starts are issued in offset order (with 1
 *   they are also accepted in offset order).
 * - Malformed messages are copied to the dead-letter topic with `retry-ingress-error` and the partition moves on.
 * - Temporal or broker hiccups are retried with backoff (the partition waits; nothing is skipped).
 * - `stop()` and rebalances: no new starts, in-flight starts finish, their offsets are committed, the member leaves.
 */

/** Prometheus metrics the ingress updates (a subset of platform/metrics). */
export type IngressMetrics = Pick<Metrics, 'ingressMessages' | 'ingressLag' | 'tasksSubmitted'>;

/** `result` label values of `retry_service_ingress_messages_total`. */
export const IngressResult = {
  Consumed: 'consumed',
  Started: 'started',
  Duplicate: 'duplicate',
  Malformed: 'malformed',
} as const;
export type IngressResult = (typeof IngressResult)[keyof typeof IngressResult];

export interface IngressOptions {
  /** Bootstrap brokers of the ingress cluster; also the cluster of tier-topic targets and dead topics. */
  brokers: string[];
  /** Extra kafkajs settings (SSL, SASL, timeouts); `brokers` and `logCreator` are set by the ingress. */
  kafkaConfig?: Omit<KafkaConfig, 'brokers' | 'logCreator'>;
  /** Temporal client that starts the workflows. */
  client: Client;
  /** Task queue of the retry workers (TASK_QUEUE). */
  taskQueue: string;
  /** Lead-time release of the tasks it starts, milliseconds (RELEASE_LEAD_SECONDS). @default off */
  releaseLeadMs?: number;
  /** Consumer group (INGRESS_GROUP_ID). */
  groupId: string;
  /** Retry-request topic (INGRESS_RETRY_TOPIC). */
  retryTopic: string;
  /** Prefix of the delay-tier topics (INGRESS_TIER_PREFIX): one topic `<prefix><tier>` per tier. */
  tierPrefix: string;
  /** Tiers whose topics are consumed. @default every tier of the ladder (5s … 5d) */
  tiers?: readonly DelayTier[];
  /** Dead-letter topic for malformed messages (INGRESS_DLQ_TOPIC). */
  dlqTopic: string;
  /** Starts in flight per partition (INGRESS_MAX_IN_FLIGHT_PER_PARTITION). @default 16 */
  maxInFlightPerPartition?: number;
  /** Partitions processed concurrently by this member. @default 4 */
  partitionsConsumedConcurrently?: number;
  /** The record key becomes the ordering key of messages that name none (INGRESS_ORDERING_FROM_RECORD_KEY). @default false */
  orderingFromRecordKey?: boolean;
  /** Task fields the raw and tier forms may leave out. @default {@link ingressDefaults} */
  defaults?: Partial<IngressDefaults>;
  /** Create missing topics (broker default partitions) at start. @default true */
  createTopics?: boolean;
  /** A new group starts at the earliest offset, so hand-offs produced before the first start are not lost. @default true */
  fromBeginning?: boolean;
  /**
   * SSRF_ALLOW: private hosts, addresses and CIDRs HTTP targets may name. A target the delivery's SSRF guard would
   * refuse is dead-lettered here, as the API answers it with 400. @default [] (no private targets)
   */
  ssrfAllow?: readonly string[];
  /** Longest wait between commits of done offsets inside a long batch, milliseconds. @default 1000 */
  commitIntervalMs?: number;
  /** Backoff of retried starts and dead-letter writes: first wait and cap, milliseconds. @default { initialMs: 200, maxMs: 10_000 } */
  retryBackoff?: { initialMs: number; maxMs: number };
  /** Longest a fetch waits for new messages, milliseconds; also bounds how long stop() waits for an idle fetch. @default 1000 */
  fetchMaxWaitMs?: number;
  /** Consumer session timeout, milliseconds (kafkajs). @default 30000 */
  sessionTimeoutMs?: number;
  logger: Logger;
  metrics?: IngressMetrics;
}

export interface Ingress {
  /** Connects, creates missing topics, joins the group and starts consuming. Resolves once consuming. */
  start(): Promise<void>;
  /** Stops taking messages, lets in-flight starts finish, commits their offsets, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** The topics consumed: the retry-request topic, then the tier topics. */
  readonly topics: readonly string[];
}

/** Builds ingress options from the service config (the caller adds client, logger and metrics). */
export function ingressOptionsFromConfig(
  config: Config,
  deps: Pick<IngressOptions, 'client' | 'logger' | 'metrics'> & Partial<IngressOptions>,
): IngressOptions {
  if (!config.KAFKA_BROKERS || config.KAFKA_BROKERS.length === 0) {
    throw new Error('KAFKA_BROKERS must be set for the Kafka ingress');
  }
  return {
    brokers: config.KAFKA_BROKERS,
    kafkaConfig: {
      clientId: `${config.KAFKA_CLIENT_ID}-ingress`,
      connectionTimeout: config.KAFKA_CONNECTION_TIMEOUT_MS,
      requestTimeout: config.KAFKA_REQUEST_TIMEOUT_MS,
    },
    taskQueue: config.TASK_QUEUE,
    releaseLeadMs: config.RELEASE_LEAD_SECONDS * 1000,
    groupId: config.INGRESS_GROUP_ID,
    retryTopic: config.INGRESS_RETRY_TOPIC,
    tierPrefix: config.INGRESS_TIER_PREFIX,
    dlqTopic: config.INGRESS_DLQ_TOPIC,
    maxInFlightPerPartition: config.INGRESS_MAX_IN_FLIGHT_PER_PARTITION,
    orderingFromRecordKey: config.INGRESS_ORDERING_FROM_RECORD_KEY,
    ssrfAllow: config.SSRF_ALLOW,
    ...deps,
  };
}

/** Thrown out of a start the ingress gave up on (stopping, partition lost): the message is consumed again. */
class StartAbandoned extends Error {}

/** What happened to one message. `abandoned`: the ingress is stopping or lost the partition; it is consumed again. */
type Outcome = IngressResult | 'abandoned';

export function createIngress(opts: IngressOptions): Ingress {
  const maxInFlight = opts.maxInFlightPerPartition ?? 16;
  const commitIntervalMs = opts.commitIntervalMs ?? 1000;
  const backoff = opts.retryBackoff ?? { initialMs: 200, maxMs: 10_000 };
  const tiers = opts.tiers ?? delayTierNames;
  const topics = [opts.retryTopic, ...tiers.map((t) => tierTopic(opts.tierPrefix, t))];
  const log = opts.logger.child({ component: 'ingress', group: opts.groupId });
  const submitter = createSubmitter({
    client: opts.client,
    taskQueue: opts.taskQueue,
    releaseLeadMs: opts.releaseLeadMs,
    logger: log,
    metrics: opts.metrics,
    ssrfAllow: opts.ssrfAllow ?? [],
  });
  const parseContext = {
    retryTopic: opts.retryTopic,
    tierPrefix: opts.tierPrefix,
    brokers: opts.brokers,
    defaults: opts.defaults,
    orderingFromRecordKey: opts.orderingFromRecordKey,
  };

  const kafka = new Kafka({ ...opts.kafkaConfig, brokers: opts.brokers, logCreator: pinoLogCreator(log) });
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  const count = (topic: string, result: IngressResult) => opts.metrics?.ingressMessages.inc({ topic, result });

  /** Retries `attempt` with exponential backoff until it succeeds or `giveUp()` says to stop (then returns false). */
  async function persist(what: string, attempt: () => Promise<void>, giveUp: () => boolean, bindings: object) {
    let waitMs = backoff.initialMs;
    for (;;) {
      try {
        await attempt();
        return true;
      } catch (err) {
        if (err instanceof TaskAlreadyExistsError || isPermanentStartError(err)) throw err;
        if (giveUp()) return false;
        log.warn({ ...bindings, err, retry_in_ms: waitMs }, `${what} failed; retrying`);
        await sleep(waitMs);
        if (giveUp()) return false;
        waitMs = Math.min(backoff.maxMs, waitMs * 2);
      }
    }
  }

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, error: MalformedMessage) {
    const headers: IHeaders = {
      ...message.headers,
      [RetryHeader.IngressError]: error.reason,
      [RetryHeader.IngressTopic]: topic,
      [RetryHeader.IngressPartition]: String(partition),
      [RetryHeader.IngressOffset]: message.offset,
    };
    if (error.field) headers[RetryHeader.IngressErrorField] = error.field;
    await producer!.send({
      topic: opts.dlqTopic,
      messages: [{ key: message.key, value: message.value, headers, timestamp: message.timestamp }],
    });
  }

  /** Parses and starts (or dead-letters) one message; resolves with its outcome. */
  async function handleMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    giveUp: () => boolean,
    parsed: ParseResult,
  ): Promise<Outcome> {
    const bindings = { topic, partition, offset: message.offset };
    count(topic, IngressResult.Consumed);
    let error: MalformedMessage;
    if (parsed.ok) {
      const { task } = parsed;
      try {
        await submitter.submit(task, 'ingress', {
          reusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          around: async (start) => {
            let started: StartedTask | undefined;
            const ok = await persist(
              'workflow start',
              async () => {
                started = await start();
              },
              giveUp,
              { ...bindings, task_id: task.id },
            );
            if (!ok || !started) throw new StartAbandoned();
            return started;
          },
        });
        count(topic, IngressResult.Started);
        return IngressResult.Started;
      } catch (err) {
        if (err instanceof StartAbandoned) return 'abandoned';
        if (err instanceof TaskAlreadyExistsError) {
          count(topic, IngressResult.Duplicate);
          log.info({ ...bindings, task_id: task.id }, 'duplicate message: task already exists');
          return IngressResult.Duplicate;
        }
        if (err instanceof TargetRefusedError) {
          error = new MalformedMessage(err.reason, err.field);
        } else if (isPermanentStartError(err)) {
          error = new MalformedMessage(`Temporal refused the task: ${(err as Error).message}`);
        } else {
          throw err;
        }
      }
    } else {
      error = parsed.error;
    }
    const ok = await persist('dead-letter write', () => deadLetter(topic, partition, message, error), giveUp, bindings);
    if (!ok) return 'abandoned';
    count(topic, IngressResult.Malformed);
    log.warn(
      { ...bindings, reason: error.reason, field: error.field, dlq: opts.dlqTopic },
      'malformed message dead-lettered',
    );
    return IngressResult.Malformed;
  }

  /**
   * One partition's batch: a window of at most `maxInFlight` messages, issued in offset order; offsets are resolved over
   * the contiguous done prefix and committed at least every `commitIntervalMs`.
   */
  async function eachBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const giveUp = () => stopping || !isRunning() || isStale();
    const window = new OffsetWindow();
    const inFlight = new Set<Promise<void>>();
    // Ordered messages of one key start one after another, in offset order (the key's queue is acceptance order).
    const lastOfKey = new Map<string, Promise<Outcome>>();
    let resolvedNext: bigint | undefined;
    let lastCommit = Date.now();
    let rebalance: unknown;

    const advance = () => {
      resolvedNext = window.advance(resolveOffset);
      if (resolvedNext !== undefined) {
        const lag = BigInt(batch.highWatermark) - resolvedNext;
        opts.metrics?.ingressLag.set({ topic, partition: String(partition) }, Number(lag < 0n ? 0n : lag));
      }
    };
    const commit = async () => {
      advance();
      if (resolvedNext === undefined) return;
      await commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: resolvedNext.toString() }] }],
      });
      lastCommit = Date.now();
    };
    /** Waits for a slot (or all slots), heartbeating and committing meanwhile; remembers a rebalance. */
    const drainTo = async (limit: number) => {
      while (inFlight.size > limit) {
        await Promise.race([...inFlight, sleep(500)]);
        advance();
        if (rebalance === undefined) {
          try {
            await heartbeat();
          } catch (err) {
            rebalance = err;
          }
        }
        if (rebalance === undefined && Date.now() - lastCommit >= commitIntervalMs) {
          try {
            await commit();
          } catch (err) {
            rebalance = err;
          }
        }
      }
    };

    try {
      for (const message of batch.messages) {
        if (giveUp() || rebalance !== undefined) break;
        await drainTo(maxInFlight - 1);
        if (giveUp() || rebalance !== undefined) break;
        const markDone = window.take(message.offset);
        const parsed = parseIngressMessage({ topic, partition, ...message, headers: message.headers }, parseContext);
        const orderingKey = parsed.ok ? parsed.task.ordering_key : undefined;
        const before = orderingKey !== undefined ? lastOfKey.get(orderingKey) : undefined;
        // A message after an abandoned one of its key is abandoned too: both are consumed again, in order.
        const handled: Promise<Outcome> = before
          ? before.then(
              (prior) => (prior === 'abandoned' ? prior : handleMessage(topic, partition, message, giveUp, parsed)),
              () => 'abandoned' as const,
            )
          : handleMessage(topic, partition, message, giveUp, parsed);
        if (orderingKey !== undefined) lastOfKey.set(orderingKey, handled);
        const p: Promise<void> = handled
          .then((outcome) => {
            if (outcome !== 'abandoned') markDone();
          })
          .catch((err: unknown) => {
            log.error(
              { topic, partition, offset: message.offset, err },
              'unexpected error; message will be consumed again',
            );
            rebalance ??= err;
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      // In-flight starts finish, on shutdown and rebalance too.
      await drainTo(0);
    } finally {
      await drainTo(0);
      advance();
    }
    await commit();
    if (rebalance !== undefined) throw rebalance;
  }

  return {
    topics,
    async start() {
      if (consumer) throw new Error('ingress already started');
      stopping = false;
      if (opts.createTopics ?? true) {
        const admin = kafka.admin();
        await admin.connect();
        try {
          // On a multi-broker cluster the brokers learn a new topic moments apart, and kafkajs' leader wait can meet
          // "does not host this topic-partition" (retriable): list and create again, a few times.
          for (let attempt = 1; ; attempt++) {
            try {
              const existing = new Set(await admin.listTopics());
              const missing = [...topics, opts.dlqTopic].filter((t) => !existing.has(t));
              if (missing.length > 0) {
                await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
                log.info({ topics: missing }, 'created ingress topics');
              }
              break;
            } catch (err) {
              if (!(err as { retriable?: boolean }).retriable || attempt >= 10) throw err;
              await new Promise((r) => setTimeout(r, 500 * attempt));
            }
          }
        } finally {
          await admin.disconnect();
        }
      }
      producer = kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      consumer = kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: 3_000,
        maxWaitTimeInMs: opts.fetchMaxWaitMs ?? 1_000,
      });
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
      await consumer.run({
        autoCommit: true,
        // Offsets are resolved by eachBatch only once their starts are accepted; kafkajs commits resolved offsets at the
        // end of each batch, on rebalance, and eachBatch commits explicitly during long batches.
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
        eachBatch,
      });
      log.info(
        { topics, dlq: opts.dlqTopic, task_queue: opts.taskQueue, max_in_flight: maxInFlight },
        'ingress started',
      );
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        // kafkajs stop: waits for the running batches (which finish their in-flight starts and commit), then leaves.
        await consumer?.disconnect();
        await producer?.disconnect();
        log.info('ingress stopped');
      })();
      return stopped;
    },
  };
}

/** Errors from Temporal that another try will not fix (e.g. a payload over the size limit). */
function isPermanentStartError(err: unknown): boolean {
  const cause = err instanceof Error && isGrpcServiceError(err.cause) ? err.cause : err;
  return isGrpcServiceError(cause) && cause.code === 3; // INVALID_ARGUMENT
}

/** kafkajs logs through pino. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, ...extra } = entry;
      const bindings = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(bindings, message);
      else if (level === logLevel.WARN) logger.warn(bindings, message);
      else if (level === logLevel.INFO) logger.debug(bindings, message);
      else logger.trace(bindings, message);
    };
}
