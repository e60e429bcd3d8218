import type { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps, type ReleaseGate } from '../activities';
import { createJobActivities } from '../activities/jobs';
import { createOrderingActivities } from '../activities/ordering';
import type { Logger } from '../platform/logger';
import type { createLifecycleWiring } from './lifecycle';

/** What every retry worker registers (worker.ts `WorkerActivities`): deliveries and the ordered tasks' hand-off. */
export function retryWorkerActivities(opts: { deps: ActivityDeps; gate?: ReleaseGate; client: Client }) {
  const ordering = createOrderingActivities(opts.client);
  return { ...createActivities(opts.deps, opts.gate, ordering.handOffTurn), ...ordering };
}

export interface ServiceActivityOptions {
  /** The deliveries' dependencies (createDeliveryDeps). */
  deps: ActivityDeps;
  /** The release gate the task queue and its release queue share (armed deliveries); a fresh one when omitted. */
  gate?: ReleaseGate;
  client: Client;
  namespace: string;
  logger: Logger;
  /** The lifecycle notifications' wiring: its notifier activity. */
  lifecycle: Pick<ReturnType<typeof createLifecycleWiring>, 'activities'>;
}

/**
 * Every activity a worker of the service registers: a retry worker's, bulk jobs' and the lifecycle notifier's. One
 * list, for the service (worker/service.ts) and every harness that stands in for it.
 */
export function serviceActivities(opts: ServiceActivityOptions) {
  const { client, namespace, logger } = opts;
  return {
    ...retryWorkerActivities(opts),
    ...createJobActivities({ client, namespace, logger }),
    ...opts.lifecycle.activities(),
  };
}
