import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import pkg from '../package.json';

/**
 * OpenTelemetry tracing of the Temporal calls, through @temporalio/interceptors-opentelemetry: the API's and the
 * ingress' client calls (StartWorkflow, SignalWorkflow, QueryWorkflow …), the workflow (RunWorkflow,
 * StartActivity …, exported from the sandbox through the `exporter` sink) and the activities (RunActivity), all in
 * one trace. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then spans go to `<endpoint>/v1/traces` (OTLP/HTTP JSON).
 */

/**
 * The workflow interceptor module. Worker.create bundles it when it bundles the workflows itself; a prebuilt bundle
 * (`bundleWorkflowCode`) must list it in `workflowInterceptorModules` to get workflow spans.
 */
export const otelWorkflowInterceptorModule =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface TracingOptions {
  /** OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. `http://otel-collector:4318`. Unset: tracing off. */
  endpoint?: string;
  /** `service.name` of the spans, e.g. `retry-service-worker`. */
  serviceName: string;
  /** `service.version`. @default package.json version */
  serviceVersion?: string;
  /** Replaces the OTLP exporter's batch processor (tests). */
  spanProcessor?: SpanProcessor;
}

/** What the worker passes to Worker.create. */
export type TracingWorkerOptions = Pick<WorkerOptions, 'interceptors' | 'sinks'>;

export interface Tracing {
  readonly enabled: boolean;
  /** For `new Client({ interceptors })`; undefined when tracing is off. */
  readonly clientInterceptors: ClientInterceptors | undefined;
  /**
   * For `Worker.create({ ...options, ...tracing.workerOptions() })`: activity interceptors, the workflow interceptor
   * module and the span exporter sink; `{}` when tracing is off. Pass `{ workflowModules: false }` with a prebuilt
   * workflow bundle (the worker ignores workflowModules then, with a warning; bundle
   * {@link otelWorkflowInterceptorModule} into it instead).
   */
  workerOptions(opts?: { workflowModules?: boolean }): TracingWorkerOptions;
  /** Flushes pending spans and unregisters the global tracer provider. Safe to call more than once. */
  shutdown(): Promise<void>;
}

const disabled: Tracing = {
  enabled: false,
  clientInterceptors: undefined,
  workerOptions: () => ({}),
  shutdown: async () => undefined,
};

/** Tracing from the parsed config (platform/config.ts): on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export function tracingFromConfig(config: { OTEL_EXPORTER_OTLP_ENDPOINT?: string }, serviceName: string): Tracing {
  return createTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName });
}

/**
 * Sets tracing up for this process: a NodeTracerProvider registered globally (W3C trace context propagation and an
 * AsyncLocalStorage context manager, which the interceptors need to link client, workflow and activity spans), and
 * the Temporal interceptors using its tracer. Returns a disabled {@link Tracing} when no endpoint is given.
 */
export function createTracing(opts: TracingOptions): Tracing {
  if (!opts.endpoint && !opts.spanProcessor) return disabled;
  const resource = resourceFromAttributes({
    'service.name': opts.serviceName,
    'service.version': opts.serviceVersion ?? pkg.version,
  });
  const processor =
    opts.spanProcessor ??
    new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const tracer: Tracer = provider.getTracer('@temporalio/interceptors-opentelemetry', pkg.version);
  const clientInterceptor = new OpenTelemetryWorkflowClientInterceptor({ tracer });
  // Workflow spans come out of the sandbox in the shape of the interceptor package's own SDK (1.x); the 2.x
  // processors and exporters of this project read fields that 1.x named differently, so adapt them on the way.
  const workflowExporter = makeWorkflowExporter(
    fromV1SpanProcessor(processor) as unknown as Parameters<typeof makeWorkflowExporter>[0],
    resource as unknown as Parameters<typeof makeWorkflowExporter>[1],
  );
  let stopping: Promise<void> | undefined;

  return {
    enabled: true,
    clientInterceptors: { workflow: [clientInterceptor] },
    workerOptions: ({ workflowModules = true } = {}) => ({
      interceptors: {
        client: { workflow: [clientInterceptor] },
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
        workflowModules: workflowModules ? [otelWorkflowInterceptorModule] : [],
      },
      sinks: { exporter: workflowExporter },
    }),
    shutdown() {
      stopping ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopping;
    },
  };
}

/** A 1.x-shaped ended span as the workflow exporter sink hands it over. */
type V1Span = ReadableSpan & {
  instrumentationLibrary?: { name: string; version?: string; schemaUrl?: string };
  parentSpanId?: string;
};

/** Wraps a 2.x span processor so that it accepts the 1.x-shaped spans of the workflow exporter sink. */
function fromV1SpanProcessor(processor: SpanProcessor): Pick<SpanProcessor, 'onEnd' | 'forceFlush' | 'shutdown'> {
  return {
    onEnd: (span) => processor.onEnd(fromV1Span(span as V1Span)),
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

/** `instrumentationLibrary` → `instrumentationScope`, `parentSpanId` → `parentSpanContext` (SDK 2.x names). */
export function fromV1Span(span: V1Span): ReadableSpan {
  const own = span.spanContext();
  const instrumentationScope = span.instrumentationScope ??
    span.instrumentationLibrary ?? { name: 'temporal-workflow' };
  const parentSpanContext =
    span.parentSpanContext ??
    (span.parentSpanId ? { traceId: own.traceId, spanId: span.parentSpanId, traceFlags: own.traceFlags } : undefined);
  return { ...span, spanContext: () => own, instrumentationScope, parentSpanContext };
}
