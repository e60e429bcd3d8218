import { versions } from '../versions';

/**
 * The production topology, as the `cluster` profile runs it and docker-compose.yml describes it. Both read their
 * numbers from here (test/ops/docker-compose.test.ts fails when docker-compose.yml drifts from it).
 */
export const clusterTopology = {
  /** Go module `go.temporal.io/server`, built from the Go module proxy (the `temporalio/server` image tag). */
  temporalServer: '1.31.2',
  /** Go module `github.com/temporalio/ui-server/v2` (the `temporalio/ui` image tag); newer ones need Go 1.26.9+. */
  temporalUi: '2.55.0',
  /** Debian's `postgresql-15` (the `postgres` image's major version). */
  postgresMajor: 15,
  /** Temporal persistence plugin for PostgreSQL (the server's `DB` variable). */
  temporalDb: 'postgres12',
  /** History shards; fixed for the life of a cluster's database. */
  numHistoryShards: 8,
  /** Temporal's PostgreSQL role and password (loopback only; the compose file uses the same). */
  dbUser: 'temporal',
  dbPassword: 'temporal',
  /** Temporal namespace our processes use, and how long closed workflows are kept. */
  namespace: 'default',
  namespaceRetention: '72h',
  /** Apache Kafka version of every broker (jars from Maven Central; the `apache/kafka` image tag). */
  kafka: versions.kafka,
  /** KRaft nodes, each broker and controller. */
  kafkaBrokers: 3,
  kafkaReplicationFactor: 3,
  kafkaMinInsyncReplicas: 2,
  /** Our own processes. */
  workers: 2,
  apis: 2,
} as const;

/** Temporal's databases and the schema folder (under `schema/postgresql/v12/`) each is set up from. */
export const temporalDatabases = [
  ['temporal', 'temporal'],
  ['temporal_visibility', 'visibility'],
] as const;

/**
 * Server variables whose values are the same here and in docker-compose.yml (the others are addresses and ports,
 * which differ between loopback and a container network).
 */
export const sharedTemporalServerEnv = ['DB', 'POSTGRES_USER', 'POSTGRES_PWD', 'NUM_HISTORY_SHARDS'] as const;

/**
 * Environment of the Temporal server process. The server's embedded config template reads exactly these names, as the
 * `temporalio/server` image does, so the compose file sets the same ones.
 */
export function temporalServerEnv(opts: {
  postgresHost: string;
  postgresPort: number;
  /** Frontend gRPC port; the server's other ports follow it (see {@link temporalServerPorts}). */
  frontendPort: number;
  dynamicConfigFile: string;
}): Record<string, string> {
  const p = temporalServerPorts(opts.frontendPort);
  return {
    DB: clusterTopology.temporalDb,
    DB_PORT: String(opts.postgresPort),
    POSTGRES_SEEDS: opts.postgresHost,
    POSTGRES_USER: clusterTopology.dbUser,
    POSTGRES_PWD: clusterTopology.dbPassword,
    NUM_HISTORY_SHARDS: String(clusterTopology.numHistoryShards),
    DYNAMIC_CONFIG_FILE_PATH: opts.dynamicConfigFile,
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(p.frontendGrpc),
    FRONTEND_HTTP_PORT: String(p.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership),
    HISTORY_GRPC_PORT: String(p.historyGrpc),
    HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
    MATCHING_GRPC_PORT: String(p.matchingGrpc),
    MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership),
    WORKER_GRPC_PORT: String(p.workerGrpc),
    WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
    LOG_LEVEL: 'warn',
  };
}

/** The nine consecutive ports one Temporal server process listens on, from its frontend gRPC port up. */
export function temporalServerPorts(frontendGrpc: number) {
  return {
    frontendGrpc,
    frontendMembership: frontendGrpc + 1,
    frontendHttp: frontendGrpc + 2,
    historyGrpc: frontendGrpc + 3,
    historyMembership: frontendGrpc + 4,
    matchingGrpc: frontendGrpc + 5,
    matchingMembership: frontendGrpc + 6,
    workerGrpc: frontendGrpc + 7,
    workerMembership: frontendGrpc + 8,
  };
}

/** Dynamic config of the cluster's Temporal server (the compose file mounts the same settings). */
export const temporalDynamicConfig = [
  '# Visibility sees new search attribute values at once (lists and filters right after a state change).',
  'system.forceSearchAttributesCacheRefreshOnRead:',
  '  - value: true',
  '    constraints: {}',
  '',
].join('\n');

/** What our processes connect to. */
export interface AppAddresses {
  temporalAddress: string;
  kafkaBrokers: string[];
}

/** Environment of worker process `i` (from 0): the Kafka ingress runs in every worker, as in docker-compose.yml. */
export function workerEnv(to: AppAddresses, metricsPort: number): Record<string, string> {
  return {
    ...commonAppEnv(to),
    INGRESS_ENABLED: 'true',
    WORKER_METRICS_PORT: String(metricsPort),
    WORKER_SDK_METRICS_PORT: String(metricsPort + 1),
  };
}

/** Environment of an API process. */
export function apiEnv(to: AppAddresses, host: string, port: number): Record<string, string> {
  return { ...commonAppEnv(to), API_HOST: host, API_PORT: String(port) };
}

function commonAppEnv(to: AppAddresses): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: to.temporalAddress,
    TEMPORAL_NAMESPACE: clusterTopology.namespace,
    KAFKA_BROKERS: to.kafkaBrokers.join(','),
  };
}
