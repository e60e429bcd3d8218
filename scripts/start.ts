// `npm start`: provision and start the local stack (Temporal dev server + Kafka) unless addresses are given, then the
// worker (with the Kafka ingress) and the API in this process. SIGINT or SIGTERM (Ctrl-C, a supervisor signalling
// npm's pid) or the death of the parent stops everything it started, in order, then exits 0.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { startWebServer } from '../api/server';
import { loadConfig } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { temporalConnectConfig } from '../platform/temporal';
import { tracingFromConfig } from '../platform/tracing';
import { installRuntime } from '../worker/runtime';
import { kafkaProbe } from '../platform/kafka-probe';
import { startWorkerService } from '../worker/service';
import { stopOnSignals } from '../platform/lifecycle';
import { startStack, type Stack } from './stack';
import { profileFromArgs, runClusterProfile } from './stack/cluster/run';
import { devStackOptionsFromEnv } from './stack/env';

/** Local-only defaults; an explicit environment variable always wins. */
const localDefaults: Record<string, string> = {
  API_HOST: '127.0.0.1',
  // Local receivers (curl walk-through, examples) live on loopback; production keeps the SSRF guard strict.
  SSRF_ALLOW: '127.0.0.0/8,::1',
  INGRESS_ENABLED: 'true',
};

/** What this process started, stopped newest first (API, client, worker and ingress, tracing, then the stack). */
const started: { stop(): Promise<void> }[] = [];
/** Settles when start-up has finished or failed; a stop requested during start-up waits for it first. */
let startup: Promise<unknown> = Promise.resolve();

async function run() {
  const t0 = Date.now();
  for (const [key, value] of Object.entries(localDefaults)) process.env[key] ??= value;
  if (!process.env.ACK_SECRET) {
    // Worker and API share this process, so a per-start key works here; acks of deliveries made before a restart
    // then answer 403 and those attempts time out (ack_timeout) and are retried. Separate processes need ACK_SECRET.
    process.env.ACK_SECRET = randomBytes(32).toString('base64url');
    console.warn(
      'ACK_SECRET is not set: generated one for this start (set it to keep ack tokens valid across restarts)',
    );
  }

  // 1. The stack (idempotent provisioning into .stack/; data persists in .stack/data). STACK_* move it elsewhere.
  const stack: Stack = await startStack(devStackOptionsFromEnv());
  started.push(stack);
  process.env.TEMPORAL_ADDRESS ??= stack.temporalAddress;
  if (stack.kafkaBrokers) process.env.KAFKA_BROKERS ??= stack.kafkaBrokers.join(',');
  else process.env.INGRESS_ENABLED = 'false';

  // 2. Worker and API, with one metrics registry and one Runtime.
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'retry-service');
  const metrics = createMetrics();
  const sdkMetricsUrl = installRuntime(logger, config);
  const tracing = tracingFromConfig(config, 'retry-service');
  started.push({ stop: () => tracing.shutdown() });
  const worker = await startWorkerService({
    config,
    logger,
    metrics,
    tracing,
    sdkMetricsUrl,
  });
  started.push(worker);
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await Connection.connect(connectionOptions);
  started.push({ stop: () => connection.close() });
  const client = new Client({ connection, namespace, interceptors: tracing.clientInterceptors });
  const web = await startWebServer({
    config,
    logger,
    client,
    metrics,
    namespace,
    kafkaHealth: config.KAFKA_BROKERS ? kafkaProbe(config.KAFKA_BROKERS, 'retry-service-health') : undefined,
  });

  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(
    [
      '',
      `  Retry service ready in ${seconds} s`,
      `  API            ${web.url}   (docs ${web.url}/docs, health ${web.url}/health)`,
      `  Temporal UI    ${stack.temporalUiUrl ?? '(external Temporal: use its own Web UI)'}`,
      `  Temporal       ${process.env.TEMPORAL_ADDRESS}`,
      `  Kafka          ${config.KAFKA_BROKERS?.join(',') ?? `OFF (${stack.kafkaOffReason}); HTTP destinations work`}`,
      `  Worker metrics ${worker.metricsUrl ?? 'off'}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  return { workerDone: worker.done };
}

/** Starts the local profile in this process and stops it on a signal, on the worker's end or on a failed start. */
function startLocal(): void {
  const stopNow = stopOnSignals({
    name: 'retry-service',
    stop: async () => {
      await startup.catch(() => undefined);
      for (const part of [...started].reverse()) await part.stop();
    },
  });
  const running = run();
  startup = running;
  running.then(
    // A worker that stops by itself (fatal error) takes the rest down with it.
    ({ workerDone }) => {
      const stopped = () => void stopNow('the worker stopped');
      workerDone.then(stopped, stopped);
    },
    async (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      // Whatever came up before the failure goes down again (a failed stack start has already stopped its servers).
      for (const part of [...started].reverse()) await part.stop().catch(() => undefined);
      process.exit(1);
    },
  );
}

// `npm start -- --profile cluster`: the production topology (separate worker and API processes) instead.
if (profileFromArgs(process.argv) === 'cluster') {
  runClusterProfile().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
} else {
  startLocal();
}
