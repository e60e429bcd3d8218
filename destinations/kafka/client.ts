import {
  ConfigResourceTypes,
  Kafka,
  logLevel,
  Partitioners,
  type LogEntry,
  type Producer,
  type logCreator,
} from 'kafkajs';
import { kafkaBrokersOf, type KafkaDestination } from '../../domain/task';
import type { Logger } from '../../platform/logger';

/** Thrown when a destination names a cluster that KAFKA_CLUSTERS does not define (a permanent failure). */
export class UnknownClusterError extends Error {
  constructor(public readonly cluster: string) {
    super(`Kafka cluster "${cluster}" is not configured on the worker (KAFKA_CLUSTERS)`);
    this.name = 'UnknownClusterError';
  }
}

/** Options of the producer pool (one per worker process). */
export interface KafkaProducerPoolOptions {
  /** KAFKA_CLIENT_ID. @default 'retry-service' */
  clientId?: string;
  /** KAFKA_CONNECTION_TIMEOUT_MS: TCP connect timeout toward a broker, milliseconds. @default 3000 */
  connectionTimeoutMs?: number;
  /** KAFKA_REQUEST_TIMEOUT_MS: timeout of one broker request (incl. acks=all produce), milliseconds. @default 10000 */
  requestTimeoutMs?: number;
  /** KAFKA_CLUSTERS: named clusters destinations may refer to. @default {} */
  clusters?: Record<string, readonly string[]>;
  /** KAFKA_BROKERS: the cluster for destinations that name neither brokers nor a cluster. */
  defaultBrokers?: readonly string[];
  /**
   * Retries kafkajs makes inside one produce/connect (with 100 ms → 1 s backoff) before the delivery fails; kept
   * small because the workflow owns the retry timeline. The idempotent producer needs at least 1. @default 2
   */
  retries?: number;
  /** Ask brokers to auto-create missing topics (only where the broker allows it). @default true */
  allowAutoTopicCreation?: boolean;
  logger?: Logger;
}

interface PooledCluster {
  kafka: Kafka;
  producer: Promise<Producer>;
  /** Cached answer of "may this cluster auto-create topics?" */
  autoCreate?: Promise<boolean>;
}

/**
 * Idempotent kafkajs producers (acks = all), one per bootstrap broker list, created on first use and reused by
 * every delivery; a producer whose connect fails is dropped so the next delivery tries afresh. Connect and request
 * timeouts are bounded so a broker that is down fails the delivery instead of hanging it.
 */
export class KafkaProducerPool {
  private readonly clusters = new Map<string, PooledCluster>();
  private closed = false;

  constructor(private readonly opts: KafkaProducerPoolOptions = {}) {}

  /** Whether producers ask brokers to auto-create missing topics. */
  get allowAutoTopicCreation(): boolean {
    return this.opts.allowAutoTopicCreation ?? true;
  }

  /**
   * The bootstrap brokers of a destination: its own host+port or broker list, else its named cluster, else
   * KAFKA_BROKERS.
   * @throws UnknownClusterError for a cluster name not in KAFKA_CLUSTERS (or no brokers at all)
   */
  brokersOf(dest: KafkaDestination): string[] {
    const own = kafkaBrokersOf(dest);
    if (own) return own;
    if (dest.cluster !== undefined) {
      const named = this.opts.clusters?.[dest.cluster];
      if (!named) throw new UnknownClusterError(dest.cluster);
      return [...named];
    }
    if (this.opts.defaultBrokers?.length) return [...this.opts.defaultBrokers];
    throw new UnknownClusterError('(default: KAFKA_BROKERS is not set)');
  }

  /** The connected producer for these brokers (connecting it on first use). */
  async producer(brokers: readonly string[]): Promise<Producer> {
    if (this.closed) throw new Error('the Kafka producer pool is closed');
    const cluster = this.cluster(brokers);
    try {
      return await cluster.producer;
    } catch (err) {
      // Forget a failed connect so the next delivery tries again (the broker may be back by then).
      if (this.clusters.get(keyOf(brokers)) === cluster) this.clusters.delete(keyOf(brokers));
      cluster.producer.then((p) => p.disconnect()).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Whether a missing topic may appear by itself: this pool asks for auto-creation and the broker's
   * `auto.create.topics.enable` is true. Asked once per cluster; false when the broker cannot be asked.
   */
  mayAutoCreateTopics(brokers: readonly string[]): Promise<boolean> {
    if (!this.allowAutoTopicCreation) return Promise.resolve(false);
    const cluster = this.cluster(brokers);
    cluster.autoCreate ??= (async () => {
      const admin = cluster.kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        const { brokers: nodes } = await admin.describeCluster();
        const first = nodes[0];
        if (!first) return false;
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            {
              type: ConfigResourceTypes.BROKER,
              name: String(first.nodeId),
              configNames: ['auto.create.topics.enable'],
            },
          ],
        });
        const entry = resources[0]?.configEntries.find((c) => c.configName === 'auto.create.topics.enable');
        return entry?.configValue === 'true';
      } catch {
        cluster.autoCreate = undefined;
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    })();
    return cluster.autoCreate;
  }

  /** Disconnects every producer (worker shutdown). Later calls to {@link producer} fail. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clusters.values()];
    this.clusters.clear();
    await Promise.all(all.map((c) => c.producer.then((p) => p.disconnect()).catch(() => undefined)));
  }

  private cluster(brokers: readonly string[]): PooledCluster {
    const key = keyOf(brokers);
    const existing = this.clusters.get(key);
    if (existing) return existing;
    const retries = Math.max(1, this.opts.retries ?? 2);
    const kafka = new Kafka({
      clientId: this.opts.clientId ?? 'retry-service',
      brokers: [...brokers],
      connectionTimeout: this.opts.connectionTimeoutMs ?? 3_000,
      requestTimeout: this.opts.requestTimeoutMs ?? 10_000,
      enforceRequestTimeout: true,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(this.opts.logger),
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: this.allowAutoTopicCreation,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const connected = producer.connect().then(() => producer);
    connected.catch(() => undefined); // observed by producer(); avoid an unhandled rejection meanwhile
    const cluster: PooledCluster = { kafka, producer: connected };
    this.clusters.set(key, cluster);
    return cluster;
  }
}

function keyOf(brokers: readonly string[]): string {
  return [...brokers].sort().join(',');
}

/** Sends kafkajs logs to pino (warn and error only; the retry-limit warning of idempotent producers is expected). */
function pinoLogCreator(logger?: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = log;
      if (/Limiting retries for the idempotent producer/.test(message)) return;
      const fields = { kafka: namespace, ...extra };
      if (level === logLevel.ERROR) logger.warn(fields, `kafka: ${message}`);
      else logger.debug(fields, `kafka: ${message}`);
    };
}
