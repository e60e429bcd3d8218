import { withDeadline, type ApiDeps } from './deps';

export interface HealthCheck {
  ok: boolean;
  detail?: string;
}

/** Deadline of each health probe, milliseconds. */
const PROBE_TIMEOUT_MS = 3_000;
/** temporal.api.enums.v1 values (the proto package is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;

async function probe(fn: () => Promise<string | undefined>): Promise<HealthCheck> {
  try {
    const detail = await fn();
    return { ok: true, ...(detail ? { detail } : {}) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * GET /health: Temporal reachable (the namespace can be described), workers polling the task queue, and Kafka
 * reachable when a check is configured. `ok` only when every part is.
 */
export async function checkHealth(deps: ApiDeps) {
  const svc = deps.client.workflowService;
  const [temporalCheck, workers] = await Promise.all([
    probe(async () => {
      await withDeadline(deps, () => svc.describeNamespace({ namespace: deps.namespace }), PROBE_TIMEOUT_MS);
      return `namespace ${deps.namespace}`;
    }),
    probe(async () => {
      const res = await withDeadline(
        deps,
        () =>
          svc.describeTaskQueue({
            namespace: deps.namespace,
            taskQueue: { name: deps.config.TASK_QUEUE, kind: TASK_QUEUE_KIND_NORMAL },
            taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
          }),
        PROBE_TIMEOUT_MS,
      );
      const pollers = res.pollers?.length ?? 0;
      if (pollers === 0) throw new Error(`no worker is polling task queue ${deps.config.TASK_QUEUE}`);
      return `${pollers} poller(s) on ${deps.config.TASK_QUEUE}`;
    }),
  ]);
  const checks: Record<string, HealthCheck> = { temporal: temporalCheck, workers };
  if (deps.kafkaHealth) {
    const kafkaHealth = deps.kafkaHealth;
    checks.kafka = await probe(async () => {
      await Promise.race([
        kafkaHealth(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('Kafka did not answer in time')), PROBE_TIMEOUT_MS).unref(),
        ),
      ]);
      return undefined;
    });
  }
  const ok = Object.values(checks).every((c) => c.ok);
  return { status: ok ? ('ok' as const) : ('unavailable' as const), checks };
}
