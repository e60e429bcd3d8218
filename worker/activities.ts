import type { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps, type ReleaseGate } from '../activities';
import { createJobActivities } from '../activities/jobs';
import { createOrderingActivities } from '../activities/ordering';
import type { Logger } from '../platform/logger';
import type { createLifecycleWiring } from './lifecycle';

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
 * Every activity a worker of the service registers: deliveries, bulk jobs, the ordered tasks' hand-off and the
 * lifecycle notifier. One list, for the service (worker/service.ts) and every harness that stands in for it.
 */
export function serviceActivities(opts: ServiceActivityOptions) {
  const { client, namespace, logger } = opts;
  return {
    ...createActivities(opts.deps, opts.gate),
    ...createJobActivities({ client, namespace, logger }),
    ...createOrderingActivities(client),
    ...opts.lifecycle.activities(),
  };
}
