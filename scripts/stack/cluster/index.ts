import { rmSync } from 'node:fs';
import path from 'node:path';
import { ensureKafkaJars, kafkaUnavailableReason } from '../kafka';
import { freePort, portInUse, type Service } from '../process';
import { ensureTemporalCli, ProvisioningError } from '../temporal';
import { startAppProcess, type AppProcess } from './app-processes';
import { ensureTemporalServer, ensureTemporalUi } from './build';
import { startKafkaCluster, type KafkaClusterNode } from './kafka-cluster';
import { startPostgres, type Postgres } from './postgres';
import { startTemporalServer, setupTemporalSchemas } from './temporal-server';
import { apiEnv, clusterTopology, temporalServerPorts, workerEnv } from './topology';
import { startTemporalUi } from './web-ui';

export { clusterTopology } from './topology';

/** First port of each component; the others of the same kind follow it (see README "Cluster profile"). */
export interface ClusterPorts {
  postgres: number;
  /** Temporal frontend gRPC; the server's other eight ports follow it. */
  temporal: number;
  /** Temporal Web UI. */
  temporalUi: number;
  /** First broker; broker n listens on `kafka + 2n`, its controller on `kafka + 2n + 1`. */
  kafka: number;
  /** First API; API n listens on `api + n`. */
  api: number;
  /** First worker's /metrics; worker n uses `workerMetrics + 2n` and `+ 2n + 1` (the SDK's exporter). */
  workerMetrics: number;
}

/** Ports of `npm run stack -- --profile cluster`; each `STACK_*` / app variable moves its group. */
export function clusterPortsFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterPorts {
  const port = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  return {
    postgres: port('STACK_POSTGRES_PORT', 15432),
    temporal: port('STACK_TEMPORAL_PORT', 7233),
    temporalUi: port('STACK_TEMPORAL_UI_PORT', 8233),
    kafka: port('STACK_KAFKA_PORT', 9092),
    api: port('API_PORT', 8080),
    workerMetrics: port('WORKER_METRICS_PORT', 9464),
  };
}

export interface ClusterOptions {
  /** `dev`: data under `dataDir` (default .stack/cluster/data), fixed ports. `test`: throw-away data, free ports. */
  mode: 'dev' | 'test';
  stackDir: string;
  dataDir?: string;
  ports?: ClusterPorts;
  /** Start our two workers and two APIs too. @default true */
  apps?: boolean;
  /** Extra environment for our processes (LOG_LEVEL, breaker settings …). */
  appEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Cluster {
  temporalAddress: string;
  temporalUiUrl: string;
  kafkaBrokers: string[];
  apiUrls: string[];
  postgres: Postgres;
  temporal: Service;
  kafka: KafkaClusterNode[];
  workers: AppProcess[];
  apis: AppProcess[];
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * `count` consecutive ports that nothing listens on now (test mode picks its own). `lowRange`: below 32768, for the
 * Temporal server, which keeps its membership ports in a PostgreSQL `smallint` (ephemeral ports do not fit).
 */
async function freeRange(count: number, lowRange = false): Promise<number> {
  for (;;) {
    const first = lowRange ? 20_000 + Math.floor(Math.random() * 12_000) : await freePort();
    if (first + count > 65_000) continue;
    const used = await Promise.all(Array.from({ length: count }, (_, i) => portInUse(first + i)));
    if (!used.some(Boolean)) return first;
  }
}

/**
 * The production topology on this machine: PostgreSQL, the Temporal server built from source (8 history shards),
 * three Kafka KRaft nodes, then our two workers and two APIs as separate processes. Stops in reverse order.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dataDir =
    opts.mode === 'dev'
      ? (opts.dataDir ?? path.join(opts.stackDir, 'cluster', 'data'))
      : path.join(opts.stackDir, 'runs', `cluster-${process.pid}-${Date.now()}`);
  const ports =
    opts.mode === 'dev'
      ? (opts.ports ?? clusterPortsFromEnv())
      : {
          postgres: await freeRange(1),
          temporal: await freeRange(9, true),
          temporalUi: await freeRange(1),
          kafka: await freeRange(6),
          api: await freeRange(clusterTopology.apis),
          workerMetrics: await freeRange(2 * clusterTopology.workers),
        };
  const services: (() => Service)[] = [];
  const stop = async (keepData = false) => {
    for (const service of services.reverse()) await service().stop();
    if (opts.mode === 'test' && !keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const kafkaOff = kafkaUnavailableReason(opts.stackDir);
    if (kafkaOff) throw new ProvisioningError('Kafka', kafkaOff);
    const bins = ensureTemporalServer(opts.stackDir, log);
    const uiBins = ensureTemporalUi(opts.stackDir, log);
    const cli = ensureTemporalCli(opts.stackDir);
    const libs = ensureKafkaJars(opts.stackDir);

    const kafkaTask = startKafkaCluster({
      libs,
      dataDir: path.join(dataDir, 'kafka'),
      logDir: dataDir,
      nodes: Array.from({ length: clusterTopology.kafkaBrokers }, (_, i) => ({
        nodeId: i + 1,
        port: ports.kafka + 2 * i,
        controllerPort: ports.kafka + 2 * i + 1,
      })),
    });
    const temporalTask = (async () => {
      const postgres = await startPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        port: ports.postgres,
        logFile: path.join(dataDir, 'postgres.log'),
      });
      services.push(() => postgres.service);
      log(`[stack] PostgreSQL ${clusterTopology.postgresMajor} ready at ${postgres.host}:${postgres.port}`);
      setupTemporalSchemas(bins, postgres);
      const temporal = await startTemporalServer({
        bins,
        cli,
        db: postgres,
        frontendPort: ports.temporal,
        dataDir: path.join(dataDir, 'temporal'),
        logFile: path.join(dataDir, 'temporal.log'),
      });
      services.push(() => temporal.service);
      const last = temporalServerPorts(ports.temporal).workerMembership;
      log(
        `[stack] Temporal server ${clusterTopology.temporalServer} ready at ${temporal.address} ` +
          `(${clusterTopology.numHistoryShards} history shards, ports ${ports.temporal}-${last})`,
      );
      const ui = await startTemporalUi({
        bins: uiBins,
        temporalAddress: temporal.address,
        port: ports.temporalUi,
        logFile: path.join(dataDir, 'temporal-ui.log'),
      });
      services.push(() => ui.service);
      log(`[stack] Temporal Web UI ${clusterTopology.temporalUi} ready at ${ui.url}`);
      return { postgres, temporal, ui };
    })();
    const [kafkaResult, temporalResult] = await Promise.allSettled([kafkaTask, temporalTask]);
    if (kafkaResult.status === 'fulfilled')
      for (const node of kafkaResult.value.nodes) services.push(() => node.service);
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    if (kafkaResult.status === 'rejected') throw kafkaResult.reason;
    const kafka = kafkaResult.value;
    const { postgres, temporal, ui } = temporalResult.value;
    log(`[stack] Kafka cluster ready at ${kafka.brokers.join(',')} (RF ${clusterTopology.kafkaReplicationFactor})`);

    const cluster: Cluster = {
      temporalAddress: temporal.address,
      temporalUiUrl: ui.url,
      kafkaBrokers: kafka.brokers,
      apiUrls: [],
      postgres,
      temporal: temporal.service,
      kafka: kafka.nodes,
      workers: [],
      apis: [],
      dataDir,
      stop: () => stop(),
    };
    if (opts.apps === false) return cluster;

    const to = { temporalAddress: temporal.address, kafkaBrokers: kafka.brokers };
    // Local receivers (examples, tests) live on loopback; production keeps the SSRF guard strict.
    const local = { SSRF_ALLOW: '127.0.0.0/8,::1', ...opts.appEnv };
    for (let i = 0; i < clusterTopology.workers; i++) {
      const metrics = ports.workerMetrics + 2 * i;
      const worker = await startAppProcess({
        name: `worker-${i + 1}`,
        entry: 'worker/main.ts',
        env: { ...workerEnv(to, metrics), ...local },
        logFile: path.join(dataDir, `worker-${i + 1}.log`),
        readyUrl: `http://127.0.0.1:${metrics}/metrics`,
      });
      services.push(() => worker.service);
      cluster.workers.push(worker);
    }
    for (let i = 0; i < clusterTopology.apis; i++) {
      const url = `http://127.0.0.1:${ports.api + i}`;
      const api = await startAppProcess({
        name: `api-${i + 1}`,
        entry: 'api/main.ts',
        env: { ...apiEnv(to, '127.0.0.1', ports.api + i), ...local },
        logFile: path.join(dataDir, `api-${i + 1}.log`),
        readyUrl: `${url}/openapi.json`,
      });
      services.push(() => api.service);
      cluster.apis.push(api);
      cluster.apiUrls.push(url);
    }
    log(
      `[stack] ${cluster.workers.length} workers and ${cluster.apis.length} APIs ready: ${cluster.apiUrls.join(' ')}`,
    );
    return cluster;
  } catch (err) {
    await stop(true); // a failed start keeps its folder: the error names the log to read
    throw err;
  }
}
