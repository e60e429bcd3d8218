import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startStack } from '../../scripts/stack';
import { groupsListeningOn, watchUsage, type ComponentGroups } from './components';
import { benchProfile, startBenchCluster } from './profile';

/** What a benchmark runs against: one Temporal server (and Kafka when asked), with connections ready. */
export interface BenchEnv {
  /** host:port of the Temporal frontend. */
  temporalAddress: string;
  /** Bootstrap brokers; set when Kafka was asked for (or KAFKA_BROKERS is set). */
  kafkaBrokers?: string[];
  /** Client connection for starting workflows and reading histories. */
  client: Client;
  /** Connection shared by the benchmark's workers. */
  nativeConnection: NativeConnection;
  namespace: string;
  /** The dev server's Prometheus endpoint, when this bench started it (bench/lib/server-ops.ts reads it). */
  temporalMetricsUrl?: string;
  /**
   * True when the server is not ours to throw away (TEMPORAL_ADDRESS given, or a test's stack): scenarios then
   * terminate the workflows they leave open.
   */
  external?: boolean;
  /** Closes the connections and stops whatever {@link startBenchEnv} started. */
  stop(): Promise<void>;
}

const SKIP_KAFKA = 'kafka-not-needed.invalid:9';

let runtimeInstalled = false;
/**
 * Installs the Temporal Runtime once per process with SDK logs at ERROR: benchmarks fail deliveries on purpose and
 * WARN lines per failed attempt would drown the progress output. A no-op when a Runtime is already installed.
 */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // Someone (a test harness) installed one first: keep theirs.
  }
}

/** Connects a {@link BenchEnv} to servers that are already running (a test's stack, or given addresses). */
export async function connectBenchEnv(opts: {
  temporalAddress: string;
  kafkaBrokers?: string[];
  namespace?: string;
  /** Extra work for stop(), after the connections close (e.g. stopping the stack). */
  onStop?: () => Promise<void>;
  external?: boolean;
  /** The servers' process groups by component: their CPU is recorded from here to stop() (bench/lib/components). */
  components?: ComponentGroups;
  temporalMetricsUrl?: string;
}): Promise<BenchEnv> {
  quietRuntime();
  const namespace = opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace });
  const usage = opts.components ? await watchUsage(opts.components, benchProfile() ?? 'dev') : undefined;
  let stopping: Promise<void> | undefined;
  return {
    temporalAddress: opts.temporalAddress,
    kafkaBrokers: opts.kafkaBrokers,
    client,
    nativeConnection,
    namespace,
    ...(opts.temporalMetricsUrl !== undefined ? { temporalMetricsUrl: opts.temporalMetricsUrl } : {}),
    external: opts.external ?? true,
    stop: () =>
      (stopping ??= (async () => {
        await usage?.finish(async () => (await client.workflow.count()).count);
        await connection.close();
        await nativeConnection.close();
        await opts.onStop?.();
      })()),
  };
}

/**
 * Starts what the benchmark needs: a throw-away Temporal dev server (free ports, data deleted on stop) and, with
 * `kafka`, a Kafka broker — or uses TEMPORAL_ADDRESS / KAFKA_BROKERS when set.
 * @throws when Kafka is asked for and cannot be provisioned
 */
export async function startBenchEnv(opts: { kafka?: boolean } = {}): Promise<BenchEnv> {
  quietRuntime();
  if (benchProfile() === 'cluster') {
    const cluster = await startBenchCluster();
    try {
      return await connectBenchEnv({
        temporalAddress: cluster.temporalAddress,
        kafkaBrokers: opts.kafka ? cluster.kafkaBrokers : undefined,
        onStop: () => cluster.stop(),
        external: false,
        components: cluster.components,
      });
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }
  // startStack starts a broker whenever it can, unless KAFKA_BROKERS names one: name a placeholder while it runs so
  // a scenario without Kafka does not share the two cores with an idle JVM (its brokers are then ignored).
  const skipKafka = !opts.kafka && !process.env.KAFKA_BROKERS;
  if (skipKafka) process.env.KAFKA_BROKERS = SKIP_KAFKA;
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({
      mode: 'test',
      requireKafka: opts.kafka,
      log: (line) => {
        if (!line.includes(SKIP_KAFKA)) process.stderr.write(`${line}\n`);
      },
    });
  } finally {
    if (skipKafka) delete process.env.KAFKA_BROKERS;
  }
  try {
    return await connectBenchEnv({
      temporalAddress: stack.temporalAddress,
      kafkaBrokers: opts.kafka ? stack.kafkaBrokers : undefined,
      onStop: () => stack.stop(),
      external: Boolean(process.env.TEMPORAL_ADDRESS),
      temporalMetricsUrl: stack.temporalMetricsUrl,
      // BENCH_PROFILE=dev (the profiles scenario): the dev server's and broker's CPU, as the cluster's is.
      components:
        benchProfile() === 'dev' && !process.env.TEMPORAL_ADDRESS
          ? groupsListeningOn({
              'Temporal server': [portOf(stack.temporalAddress)],
              ...(opts.kafka && stack.kafkaBrokers ? { Kafka: stack.kafkaBrokers.map(portOf) } : {}),
            })
          : undefined,
    });
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

const portOf = (address: string) => Number(address.split(':').pop());
