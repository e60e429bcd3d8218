// `npm start`: provision and start the local stack (Temporal dev server + Kafka) unless addresses are given, then the
// worker (with the Kafka ingress) and the API in this process. Ctrl-C stops everything it started.
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
import { startStack } from './stack';
import { profileFromArgs, runClusterProfile } from './stack/cluster/run';

/** Local-only defaults; an explicit environment variable always wins. */
const localDefaults: Record<string, string> = {
  API_HOST: '127.0.0.1',
  // Local receivers (curl walk-through, examples) live on loopback; production keeps the SSRF guard strict.
  SSRF_ALLOW: '127.0.0.0/8,::1',
  INGRESS_ENABLED: 'true',
};

async function run() {
  // `npm start -- --profile cluster`: the production topology (separate worker and API processes).
  if (profileFromArgs(process.argv) === 'cluster') return runClusterProfile();
  const t0 = Date.now();
  for (const [key, value] of Object.entries(localDefaults)) process.env[key] ??= value;

  // 1. The stack (idempotent provisioning into .stack/; data persists in .stack/data). STACK_* move it elsewhere.
  const port = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const stack = await startStack({
    mode: 'dev',
    dataDir: process.env.STACK_DATA_DIR,
    ports: {
      temporal: port('STACK_TEMPORAL_PORT'),
      temporalUi: port('STACK_TEMPORAL_UI_PORT'),
      kafka: port('STACK_KAFKA_PORT'),
      kafkaController: port('STACK_KAFKA_CONTROLLER_PORT'),
    },
  });
  process.env.TEMPORAL_ADDRESS ??= stack.temporalAddress;
  if (stack.kafkaBrokers) process.env.KAFKA_BROKERS ??= stack.kafkaBrokers.join(',');
  else process.env.INGRESS_ENABLED = 'false';

  // 2. Worker and API, with one metrics registry and one Runtime.
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'retry-service');
  const metrics = createMetrics();
  const sdkMetricsUrl = installRuntime(logger, config);
  const tracing = tracingFromConfig(config, 'retry-service');
  const worker = await startWorkerService({
    config,
    logger,
    metrics,
    tracing,
    sdkMetricsUrl,
  });
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await Connection.connect(connectionOptions);
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await web.stop();
    await connection.close();
    await worker.stop();
    await tracing.shutdown();
    await stack.stop();
    process.exit(0);
  };
  // `on`, not `once`: Ctrl-C can arrive twice (terminal + tsx relaying it); a second one must not kill a stop midway.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await worker.done;
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
