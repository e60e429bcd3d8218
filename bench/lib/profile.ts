import { stackDir } from '../../scripts/stack';
import { startCluster } from '../../scripts/stack/cluster';
import { groupsListeningOn, type ComponentGroups } from './components';

/** The stack profiles a benchmark can run on (`npm run bench -- <scenario> --profile cluster`). */
export const benchProfiles = ['dev', 'cluster'] as const;
export type BenchProfile = (typeof benchProfiles)[number];

/** BENCH_PROFILE (set by bench/run.ts from `--profile`); undefined = the dev server, without CPU per component. */
export function benchProfile(): BenchProfile | undefined {
  const value = process.env.BENCH_PROFILE;
  if (value === undefined || value === '') return undefined;
  if (!benchProfiles.includes(value as BenchProfile)) {
    throw new Error(`BENCH_PROFILE must be one of ${benchProfiles.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as BenchProfile;
}

/**
 * The cluster profile's servers (PostgreSQL, the Temporal server built from source, three Kafka nodes, the Web UI;
 * none of our apps: the scenario runs its own workers), on free ports with throw-away data, and their process
 * groups by component.
 */
export async function startBenchCluster(): Promise<{
  temporalAddress: string;
  kafkaBrokers: string[];
  components: ComponentGroups;
  stop(): Promise<void>;
}> {
  const cluster = await startCluster({
    mode: 'test',
    stackDir,
    apps: false,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const portOf = (address: string) => Number(address.split(':').pop());
  return {
    temporalAddress: cluster.temporalAddress,
    kafkaBrokers: cluster.kafkaBrokers,
    components: groupsListeningOn({
      'Temporal server': [portOf(cluster.temporalAddress)],
      PostgreSQL: [cluster.postgres.port],
      Kafka: cluster.kafkaBrokers.map(portOf),
    }),
    stop: () => cluster.stop(),
  };
}
