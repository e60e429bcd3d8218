import { stopOnSignals } from '../../../platform/lifecycle';
import { startCluster } from '.';
import { stackDir } from '..';
import { clusterTopology } from './topology';

export const profiles = ['dev', 'cluster'] as const;
export type Profile = (typeof profiles)[number];

/** The `--profile NAME` (or `--profile=NAME`) of a command line; `dev` when absent. */
export function profileFromArgs(argv: readonly string[]): Profile {
  const at = argv.findIndex((a) => a === '--profile' || a.startsWith('--profile='));
  if (at < 0) return 'dev';
  const arg = argv[at]!;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
  if (!profiles.includes(value as Profile)) {
    throw new Error(`--profile must be one of ${profiles.join(', ')} (got ${JSON.stringify(value ?? '')})`);
  }
  return value as Profile;
}

/**
 * `npm run stack -- --profile cluster` and `npm start -- --profile cluster`: the production topology in the
 * foreground (data under STACK_DATA_DIR, default .stack/cluster/data) until SIGINT/SIGTERM, then everything stops.
 */
export async function runClusterProfile(): Promise<void> {
  const t0 = Date.now();
  const cluster = await startCluster({
    mode: 'dev',
    stackDir,
    dataDir: process.env.STACK_DATA_DIR,
    // STACK_CLUSTER_APPS=0: the servers only (bench/ runs its own workers against TEMPORAL_ADDRESS / KAFKA_BROKERS).
    apps: process.env.STACK_CLUSTER_APPS !== '0',
    appEnv: process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {},
  });
  const t = clusterTopology;
  console.log(
    [
      '',
      `  Retry service cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `  APIs           ${cluster.apiUrls.join('  ') || 'none (STACK_CLUSTER_APPS=0)'}`,
      `  Workers        ${cluster.workers.length} processes (Kafka ingress in each)`,
      `  Temporal       ${cluster.temporalAddress}  (server ${t.temporalServer}, ${t.numHistoryShards} history shards)`,
      `  PostgreSQL     ${cluster.postgres.host}:${cluster.postgres.port}`,
      `  Kafka          ${cluster.kafkaBrokers.join(',')}  (RF ${t.kafkaReplicationFactor}, min ISR ${t.kafkaMinInsyncReplicas})`,
      `  Temporal UI    ${cluster.temporalUiUrl}  (ui-server ${t.temporalUi})`,
      `  Data, logs     ${cluster.dataDir}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  stopOnSignals({ name: 'cluster', stop: () => cluster.stop() });
}
