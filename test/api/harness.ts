import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createDeliveryDeps, type DeliveryDeps } from '../../activities';
import type { TaskRequest } from '../../domain/task';
import { loadConfig, type Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { createReleaseWorker, createWorker, runTogether, type WorkerPair } from '../../worker/worker';
import { startWebServer, type WebServer } from '../../api/server';
import { ReceiverServer } from '../../testkit/http-receiver';
import { destinationPausesFromConfig, type DestinationPauses } from '../../worker/destination-pauses';
import { createLifecycleWiring } from '../../worker/lifecycle';
import { serviceActivities } from '../../worker/activities';

/** A local webhook receiver on 127.0.0.1 that records every request and answers `status` (200 by default). */
export async function startReceiver() {
  const received: { url: string; body: string; at: number }[] = [];
  const state = { status: 200 };
  const server = await ReceiverServer.start(({ url, body }, res) => {
    received.push({ url, body, at: Date.now() });
    res.writeHead(state.status).end();
  });
  return { url: server.origin, received, state, close: () => server.stop() };
}

/** Config for a test: a unique task queue, a free port, the receiver allowed past the SSRF guard, quiet logs. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    TASK_QUEUE: `api-${randomUUID()}`,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    SSRF_ALLOW: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

let runtimeInstalled = false;
/** Worker logs at WARN would print every (expected) failed delivery attempt; keep errors only. Once per process. */
function quietWorkerLogs() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

export interface Harness {
  api: WebServer;
  client: Client;
  config: Config;
  worker?: Worker;
  /** Stops the worker (as a process restart would: its in-memory views go) and starts a new one. */
  restartWorker(): Promise<void>;
  /** Stops the worker; `startWorker` starts a new one. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The API against the run's dev server, optionally with a worker polling its task queue. */
export async function startHarness(opts: { env?: Record<string, string>; worker?: boolean } = {}): Promise<Harness> {
  const config = testConfig(opts.env);
  const logger = createLogger('silent');
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection, namespace: 'default' });
  let worker: Worker | undefined;
  let workers: WorkerPair | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  let deliveryDeps: DeliveryDeps | undefined;
  let pauses: DestinationPauses | undefined;
  const startWorker = async () => {
    quietWorkerLogs();
    nativeConnection ??= await NativeConnection.connect({ address: inject('temporalAddress') });
    pauses = destinationPausesFromConfig(config, client, logger);
    await pauses.start();
    // Lifecycle notifications wired as the worker process wires them (inert unless NOTIFY_* is set).
    const lifecycle = createLifecycleWiring({ client, config, logger });
    deliveryDeps = createDeliveryDeps({
      config,
      logger,
      destinationEvents: pauses,
      onCircuitChange: lifecycle.onCircuitChange,
      lifecycle: lifecycle.emitter,
    });
    const options = {
      connection: nativeConnection,
      namespace: 'default',
      config,
      logger,
      activities: serviceActivities({ deps: deliveryDeps, client, namespace: 'default', logger, lifecycle }),
      taskQueue: config.TASK_QUEUE,
    };
    worker = await createWorker({ ...options, workflowBundlePath: inject('workflowBundlePath') });
    workers = runTogether([worker, await createReleaseWorker(options)]);
    running = workers.done;
  };
  const stopWorker = async () => {
    workers?.shutdown();
    await running;
    pauses?.close();
    await deliveryDeps?.close();
  };
  if (opts.worker) await startWorker();
  const api = await startWebServer({ config, logger, client, metrics: createMetrics(), namespace: 'default' });
  return {
    api,
    client,
    config,
    get worker() {
      return worker;
    },
    async restartWorker() {
      await stopWorker();
      await startWorker();
    },
    stopWorker,
    startWorker,
    async stop() {
      await api.stop();
      await stopWorker();
      await nativeConnection?.close();
      await connection.close();
    },
  };
}

/** A valid HTTP task (seed 002 fields) with a fresh id; waits an hour before attempt 1 unless told otherwise. */
export function httpTask(receiverUrl: string, overrides: Partial<TaskRequest> = {}): TaskRequest {
  return {
    id: `task-${randomUUID()}`,
    source: 'api-test',
    destination: { url: `${receiverUrl}/hook` },
    max_retries: 3,
    base_delay: 3600,
    client_id: 'client-api-test',
    message_data: '{"event": "test"}',
    destination_type: 'http',
    ...overrides,
  } as TaskRequest;
}

/** Polls `fn` until it returns without throwing (visibility is eventually consistent; tasks move on their own). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/**
 * Polls `read` until `done(value)` holds, for work whose speed depends on the machine (hundreds of workflows under
 * load): it fails when the value has not changed for `stallMs` — the work stopped — not after a fixed time. A read
 * that throws counts as no change (a worker restarting), and its error is the one reported on a stall.
 */
export async function whileProgressing<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { stallMs = 60_000, intervalMs = 1000 } = {},
): Promise<T> {
  let last = '';
  let lastError: unknown;
  let movedAt = Date.now();
  for (;;) {
    try {
      const value = await read();
      lastError = undefined;
      if (done(value)) return value;
      const seen = JSON.stringify(value);
      if (seen !== last) [last, movedAt] = [seen, Date.now()];
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - movedAt > stallMs)
      throw lastError instanceof Error ? lastError : new Error(`no progress for ${stallMs} ms; last value ${last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
