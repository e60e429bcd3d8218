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
import { bundleWorkflows } from '../worker/worker';
import { runService } from '../platform/lifecycle';
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

/** What this process started, stopped newest first (API, client, worker and ingress, the stack, then tracing). */
const started: { stop(): Promise<void> }[] = [];

/** Stops everything started so far, newest first; a part that fails to stop does not keep the others running. */
async function stopStarted(): Promise<void> {
  const failures: unknown[] = [];
  for (const part of started.splice(0).reverse()) await part.stop().catch((err: unknown) => failures.push(err));
  if (failures.length) throw new AggregateError(failures, `${failures.length} part(s) failed to stop`);
}

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

  // 1. What needs no server: the settings (a bad variable fails before anything starts), logging, the one Runtime,
  //    tracing, and the workflow bundle — seconds of webpack, made while the servers start.
  const base = loadConfig();
  const logger = createLogger(base.LOG_LEVEL, 'retry-service');
  const sdkMetricsUrl = installRuntime(logger, base);
  const tracing = tracingFromConfig(base, 'retry-service');
  started.push({ stop: () => tracing.shutdown() });
  const workflowBundle = bundleWorkflows(tracing);
  workflowBundle.catch(() => undefined); // a failed bundle fails the worker's start below, not the process

  // 2. The stack (idempotent provisioning into .stack/; data persists in .stack/data). STACK_* move it elsewhere.
  const stack: Stack = await startStack(devStackOptionsFromEnv());
  started.push(stack);
  process.env.TEMPORAL_ADDRESS ??= stack.temporalAddress;
  if (stack.kafkaBrokers) process.env.KAFKA_BROKERS ??= stack.kafkaBrokers.join(',');
  else process.env.INGRESS_ENABLED = 'false';

  // 3. Worker and API, with one metrics registry, on the settings completed by the stack's addresses.
  const config = loadConfig();
  const metrics = createMetrics();
  const worker = await startWorkerService({
    config,
    logger,
    metrics,
    tracing,
    sdkMetricsUrl,
    workflowBundle,
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
  runService({
    name: 'retry-service',
    start: run,
    stop: () => stopStarted(),
    // A worker that stops by itself takes the rest down with it (exit 1 when it stopped on an error).
    ended: ({ workerDone }) => workerDone,
    // Whatever came up before the failure goes down again (a failed stack start has already stopped its servers).
    startFailed: () => stopStarted(),
  });
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
