import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Activities } from '../../activities';
import { DeliveryFailureType, type DeliveryReceipt, type HttpDeliveryRequest } from '../../domain/delivery';
import type { TaskRequest } from '../../domain/task';
import { loadConfig, type Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createMetrics } from '../../platform/metrics';
import { createWorker } from '../../worker/worker';
import { startWebServer, type WebServer } from '../../api/server';

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

/**
 * Test activities: deliverHttp makes one real POST to the destination (the local receiver) and classifies 2xx as
 * success, anything else as a retryable failure, exactly as the activity contract (domain/delivery.ts) says.
 * The API tests are about the API; the real delivery activities have their own suites.
 */
export function receiverActivities(): Activities {
  const deliverHttp = async (req: HttpDeliveryRequest): Promise<DeliveryReceipt> => {
    const started = Date.now();
    let status: number;
    try {
      const res = await fetch(req.destination.url, { method: 'POST', body: req.message_data });
      status = res.status;
    } catch (err) {
      throw ApplicationFailure.create({
        type: DeliveryFailureType.Retryable,
        message: (err as Error).message,
        details: [{ error_class: 'connection', duration_ms: Date.now() - started }],
      });
    }
    if (status >= 200 && status < 300) return { duration_ms: Date.now() - started, status_code: status };
    throw ApplicationFailure.create({
      type: DeliveryFailureType.Retryable,
      message: `HTTP ${status}`,
      details: [{ error_class: `http_${status}`, duration_ms: Date.now() - started, status_code: status }],
    });
  };
  const deliverKafka = async (): Promise<DeliveryReceipt> => {
    throw ApplicationFailure.create({
      type: DeliveryFailureType.Retryable,
      message: 'kafka delivery is not part of the API tests',
      details: [{ error_class: 'not_tested', duration_ms: 0 }],
    });
  };
  return { deliverHttp, deliverKafka } as unknown as Activities;
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
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (opts.worker) {
    quietWorkerLogs();
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      config,
      logger,
      activities: receiverActivities(),
      workflowBundlePath: inject('workflowBundlePath'),
      taskQueue: config.TASK_QUEUE,
    });
    running = worker.run();
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
        worker.shutdown();
        await running;
      }
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
