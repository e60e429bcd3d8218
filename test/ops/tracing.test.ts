import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities, createDeliveryDeps } from '../../activities';
import { startTask } from '../../client/tasks';
import { TaskState } from '../../domain/status';
import { TaskInput } from '../../domain/task';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createTracing, otelWorkflowInterceptorModule, tracingFromConfig } from '../../platform/tracing';
import type { retryTask } from '../../workflows';
import { ReceiverServer } from '../../testkit/http-receiver';

/** Starts a receiver answering every request with `status`; collects JSON bodies by path. */
async function listen(
  status: number,
): Promise<{ server: ReceiverServer; url: string; bodies: Map<string, unknown[]> }> {
  const bodies = new Map<string, unknown[]>();
  const server = await ReceiverServer.start(({ url, body }, res) => {
    const list = bodies.get(url) ?? [];
    list.push(body.startsWith('{') ? JSON.parse(body) : body);
    bodies.set(url, list);
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  return { server, url: server.origin, bodies };
}

describe('platform/tracing', () => {
  it('is off and adds nothing when OTEL_EXPORTER_OTLP_ENDPOINT is not set', async () => {
    const tracing = tracingFromConfig(loadConfig({}), 'retry-service-worker');
    expect(tracing.enabled).toBe(false);
    expect(tracing.clientInterceptors).toBeUndefined();
    expect(tracing.workerOptions()).toEqual({});
    await tracing.shutdown();
  });

  it('returns client and worker interceptors and the workflow span sink when an endpoint is set', async () => {
    const tracing = tracingFromConfig(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }),
      'retry-service-api',
    );
    try {
      expect(tracing.enabled).toBe(true);
      expect(tracing.clientInterceptors?.workflow).toHaveLength(1);
      const worker = tracing.workerOptions();
      expect(worker.interceptors?.activity).toHaveLength(1);
      expect(worker.interceptors?.client?.workflow).toHaveLength(1);
      expect(worker.interceptors?.workflowModules).toEqual([otelWorkflowInterceptorModule]);
      expect(existsSync(otelWorkflowInterceptorModule)).toBe(true);
      expect(worker.sinks).toHaveProperty('exporter.export.fn');
      expect(tracing.workerOptions({ workflowModules: false }).interceptors?.workflowModules).toEqual([]);
    } finally {
      await tracing.shutdown();
    }
  });

  describe('against a real worker and an OTLP/HTTP collector', () => {
    let collector: Awaited<ReturnType<typeof listen>>;
    let receiver: Awaited<ReturnType<typeof listen>>;
    let workflowBundle: { code: string };

    beforeAll(async () => {
      collector = await listen(200);
      receiver = await listen(204);
      // The run's shared bundle has no OTel workflow interceptors; this one does, as a tracing build would.
      workflowBundle = await bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, '../../workflows'),
        workflowInterceptorModules: [otelWorkflowInterceptorModule],
        logger: {
          log: () => undefined,
          trace: () => undefined,
          debug: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          error: () => undefined,
        },
      });
    });
    afterAll(async () => {
      await collector?.server.stop();
      await receiver?.server.stop();
    });

    it('exports client, workflow and activity spans of one delivered task in one trace', async () => {
      const tracing = createTracing({ endpoint: `${collector.url}/`, serviceName: 'retry-service-test' });
      const config = loadConfig({ SSRF_ALLOW: '127.0.0.1', WORKER_METRICS_PORT: '0' });
      const logger = createLogger('warn', 'tracing-test');
      const deps = createDeliveryDeps({ config, logger });
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const taskQueue = `tracing-${randomUUID()}`;
      try {
        const client = new Client({ connection, namespace: 'default', interceptors: tracing.clientInterceptors });
        const worker = await Worker.create({
          connection: nativeConnection,
          namespace: 'default',
          taskQueue,
          workflowBundle,
          activities: createActivities(deps),
          ...tracing.workerOptions({ workflowModules: false }),
        });
        const task = TaskInput.parse({
          id: `trace-${randomUUID()}`,
          source: 'tracing-test',
          client_id: 'c-1',
          destination_type: 'http',
          destination: { url: `${receiver.url}/hook` },
          max_retries: 1,
          base_delay: 0,
          message_data: 'traced',
        });
        const result = await worker.runUntil(async () => {
          await startTask(client, taskQueue, task);
          return client.workflow.getHandle<typeof retryTask>(task.id).result();
        });
        expect(result.state).toBe(TaskState.Succeeded);
        expect(receiver.bodies.get('/hook')).toEqual(['traced']);
      } finally {
        await tracing.shutdown();
        await deps.close();
        await nativeConnection.close();
        await connection.close();
      }

      interface OtlpSpan {
        name: string;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
      }
      interface OtlpExport {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      }
      const exports = (collector.bodies.get('/v1/traces') ?? []) as OtlpExport[];
      const resources = exports.flatMap((e) => e.resourceSpans);
      const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      const names = spans.map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'StartWorkflow:retryTask',
          'RunWorkflow:retryTask',
          'StartActivity:deliverSeries',
          'RunActivity:deliverSeries',
        ]),
      );
      const root = spans.find((s) => s.name === 'StartWorkflow:retryTask')!;
      for (const name of ['RunWorkflow:retryTask', 'StartActivity:deliverSeries', 'RunActivity:deliverSeries']) {
        expect(spans.find((s) => s.name === name)?.traceId, name).toBe(root.traceId);
      }
      // Workflow spans crossed the sandbox as 1.x spans: their parent links survived the adaptation.
      const run = spans.find((s) => s.name === 'RunWorkflow:retryTask')!;
      expect(run.parentSpanId).toBe(root.spanId);
      for (const r of resources) {
        expect(r.resource.attributes).toContainEqual({
          key: 'service.name',
          value: { stringValue: 'retry-service-test' },
        });
      }
    });
  });
});
