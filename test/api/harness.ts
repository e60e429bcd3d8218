import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, createDeliveryDeps, type DeliveryDeps } from '../../activities';
import { createJobActivities } from '../../activities/jobs';
import type { TaskRequest } from '../../domain/task';
import { loadConfig, type Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { createReleaseWorker, createWorker, runTogether, type WorkerPair } from '../../worker/worker';
import { startWebServer, type WebServer } from '../../api/server';
import { createLifecycleWiring } from '../../worker/lifecycle';

/** A local webhook receiver on 127.0.0.1 that records every request and answers `status` (200 by default). */
export async function startReceiver() {
  const received: { url: string; body: string }[] = [];
  const state = { status: 200 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
  if (opts.worker) {
    quietWorkerLogs();
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    // Lifecycle notifications wired as the worker process wires them (inert unless NOTIFY_* is set).
    const lifecycle = createLifecycleWiring({ client, config, logger });
    deliveryDeps = createDeliveryDeps({
      config,
      logger,
      onCircuitChange: lifecycle.onCircuitChange,
      lifecycle: lifecycle.emitter,
    });
    const options = {
      connection: nativeConnection,
      namespace: 'default',
      config,
      logger,
      activities: {
        ...createActivities(deliveryDeps),
        ...createJobActivities({ client, namespace: 'default', logger }),
        ...lifecycle.activities(),
      },
      taskQueue: config.TASK_QUEUE,
    };
    worker = await createWorker({ ...options, workflowBundlePath: inject('workflowBundlePath') });
    workers = runTogether([worker, await createReleaseWorker(options)]);
    running = workers.done;
  }
  const api = await startWebServer({ config, logger, client, metrics: createMetrics(), namespace: 'default' });
  return {
    api,
    client,
    config,
    worker,
    async stop() {
      await api.stop();
      if (worker) {
        workers?.shutdown();
        await running;
      }
      await deliveryDeps?.close();
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
 * load): it fails when the value has not changed for `stallMs` — the work stopped — not after a fixed time.
 */
export async function whileProgressing<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { stallMs = 60_000, intervalMs = 1000 } = {},
): Promise<T> {
  let last = '';
  let movedAt = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    const seen = JSON.stringify(value);
    if (seen !== last) [last, movedAt] = [seen, Date.now()];
    else if (Date.now() - movedAt > stallMs) throw new Error(`no progress for ${stallMs} ms; last value ${seen}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
