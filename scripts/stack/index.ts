import { rmSync } from 'node:fs';
import path from 'node:path';
import { ensureKafkaJars, kafkaUnavailableReason, startKafkaBroker } from './kafka';
import { assertPortsFree } from './ports';
import { freePort, retryOnLostPort, type Service } from './process';
import { ensureTemporalCli, ensureTestServer, startTemporalDevServer } from './temporal';

export { PortInUseError } from './ports';
export { ProvisioningError } from './temporal';

/** The project's one git-ignored folder for everything provisioned: venv, jars, data, logs. */
export const stackDir = path.resolve(__dirname, '..', '..', '.stack');

export interface StackOptions {
  /**
   * `dev`: persistent data under .stack/data and fixed ports (npm start).
   * `test`: a throw-away data folder and free ports, so several runs can share the machine.
   */
  mode: 'dev' | 'test';
  ports?: { temporal?: number; temporalUi?: number; kafka?: number; kafkaController?: number };
  /** Where `dev` mode keeps its data. @default .stack/data */
  dataDir?: string;
  /** Also provision the time-skipping test server (tests only). */
  testServer?: boolean;
  /** Fail instead of running without Kafka when it cannot be provisioned (CI, tests). */
  requireKafka?: boolean;
  /** Progress lines; defaults to console.log. */
  log?: (line: string) => void;
}

export interface Stack {
  temporalAddress: string;
  /** Set when this stack started the dev server (the Web UI comes with it). */
  temporalUiUrl?: string;
  /** The dev server's Prometheus endpoint (request and persistence counters); set when a test stack started it. */
  temporalMetricsUrl?: string;
  /** Undefined when Kafka is off (no Java/Maven and no KAFKA_BROKERS). */
  kafkaBrokers?: string[];
  kafkaOffReason?: string;
  testServerPath?: string;
  stop(): Promise<void>;
}

/**
 * Provisions (idempotently) and starts what is not given by the environment: TEMPORAL_ADDRESS means "use that
 * Temporal", KAFKA_BROKERS means "use that Kafka cluster".
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const services: Service[] = [];
  const runDir =
    opts.mode === 'dev'
      ? (opts.dataDir ?? path.join(stackDir, 'data'))
      : path.join(stackDir, 'runs', `${process.pid}-${Date.now()}`);
  const stop = async () => {
    await Promise.all(services.reverse().map((s) => s.stop()));
    if (opts.mode === 'test') rmSync(runDir, { recursive: true, force: true });
  };
  try {
    const stack: Stack = { temporalAddress: process.env.TEMPORAL_ADDRESS ?? '', stop };
    const pick = async (given: number | undefined) => (opts.mode === 'test' ? freePort() : given!);
    // A test stack's ports are picked free; one taken before its server bound it is picked again. A dev stack's
    // ports are the configured ones: a taken port is the operator's to free.
    const freshPortAttempts = opts.mode === 'test' ? 3 : 1;
    // A test stack also fixes the dev server's metrics port (the bench reads its counters); 0 leaves the CLI its
    // random one (a dev stack).
    const temporalPorts = { STACK_TEMPORAL_PORT: 0, STACK_TEMPORAL_UI_PORT: 0, STACK_TEMPORAL_METRICS_PORT: 0 };
    const kafkaPorts = { STACK_KAFKA_PORT: 0, STACK_KAFKA_CONTROLLER_PORT: 0 };
    if (!process.env.TEMPORAL_ADDRESS) {
      temporalPorts.STACK_TEMPORAL_PORT = await pick(opts.ports?.temporal ?? 7233);
      temporalPorts.STACK_TEMPORAL_UI_PORT = await pick(opts.ports?.temporalUi ?? 8233);
      if (opts.mode === 'test') temporalPorts.STACK_TEMPORAL_METRICS_PORT = await freePort();
      await assertPortsFree(temporalPorts);
    }
    if (!process.env.KAFKA_BROKERS && !kafkaUnavailableReason(stackDir)) {
      kafkaPorts.STACK_KAFKA_PORT = await pick(opts.ports?.kafka ?? 9092);
      kafkaPorts.STACK_KAFKA_CONTROLLER_PORT = await pick(opts.ports?.kafkaController ?? 9093);
      await assertPortsFree(kafkaPorts);
    }

    const kafkaTask = (async () => {
      if (process.env.KAFKA_BROKERS) {
        stack.kafkaBrokers = process.env.KAFKA_BROKERS.split(',').map((b) => b.trim());
        log(`[stack] using Kafka at ${stack.kafkaBrokers.join(',')} (KAFKA_BROKERS)`);
        return;
      }
      const reason = kafkaUnavailableReason(stackDir);
      if (reason) {
        if (opts.requireKafka) throw new Error(`cannot provision Kafka: ${reason}`);
        stack.kafkaOffReason = reason;
        log(`[stack] Kafka is OFF (${reason}); HTTP destinations still work`);
        return;
      }
      const libs = ensureKafkaJars(stackDir);
      const broker = await onFreshPorts(kafkaPorts, freshPortAttempts, (again) =>
        startKafkaBroker({
          libs,
          dataDir: path.join(runDir, `kafka${again}`),
          port: kafkaPorts.STACK_KAFKA_PORT,
          controllerPort: kafkaPorts.STACK_KAFKA_CONTROLLER_PORT,
          logFile: path.join(runDir, `kafka${again}.log`),
        }),
      );
      services.push(broker.service);
      stack.kafkaBrokers = broker.brokers;
      log(`[stack] Kafka broker ready at ${broker.brokers.join(',')}`);
    })();

    const temporalTask = (async () => {
      if (opts.testServer) stack.testServerPath = ensureTestServer(stackDir);
      if (process.env.TEMPORAL_ADDRESS) {
        log(`[stack] using Temporal at ${process.env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`);
        return;
      }
      const cli = ensureTemporalCli(stackDir);
      const server = await onFreshPorts(temporalPorts, freshPortAttempts, (again) =>
        startTemporalDevServer({
          cli,
          dbFile: path.join(runDir, `temporal${again}.sqlite`),
          port: temporalPorts.STACK_TEMPORAL_PORT,
          uiPort: temporalPorts.STACK_TEMPORAL_UI_PORT,
          metricsPort: temporalPorts.STACK_TEMPORAL_METRICS_PORT || undefined,
          logFile: path.join(runDir, `temporal${again}.log`),
        }),
      );
      services.push(server.service);
      stack.temporalAddress = server.address;
      stack.temporalUiUrl = server.uiUrl;
      stack.temporalMetricsUrl = server.metricsUrl;
      log(`[stack] Temporal dev server ready at ${server.address}, Web UI ${server.uiUrl}`);
    })();

    const results = await Promise.allSettled([temporalTask, kafkaTask]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs `start` with the suffix of its data files ('' the first time), and again while it loses a port during start-up
 * ({@link retryOnLostPort}, `attempts` in all): every port in `ports` is picked afresh and the suffix becomes `-2`,
 * `-3`, so a retry starts on fresh ports and fresh data.
 */
async function onFreshPorts<T>(
  ports: Record<string, number>,
  attempts: number,
  start: (suffix: string) => Promise<T>,
): Promise<T> {
  return retryOnLostPort(async (attempt) => {
    if (attempt === 1) return start('');
    for (const name of Object.keys(ports)) ports[name] = await freePort();
    return start(`-${attempt}`);
  }, attempts);
}
