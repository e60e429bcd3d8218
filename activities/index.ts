import type { DeliveryReceipt, HttpDeliveryRequest, KafkaDeliveryRequest } from '../domain/delivery';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

/** What the activities need; the worker builds these once and closes them on shutdown. */
export interface ActivityDeps {
  config: Config;
  logger: Logger;
}

/**
 * The delivery activities. Each makes exactly one attempt and classifies its outcome (see domain/delivery.ts):
 * success returns a receipt, failure throws an ApplicationFailure typed DeliveryFailed / DestinationRejected /
 * CircuitOpen. Build with a factory so tests can replace one activity and keep the rest.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    async deliverHttp(req: HttpDeliveryRequest): Promise<DeliveryReceipt> {
      deps.logger.error({ task_id: req.task_id }, 'deliverHttp is not built yet');
      throw new Error('deliverHttp is not built yet (issue 4)');
    },
    async deliverKafka(req: KafkaDeliveryRequest): Promise<DeliveryReceipt> {
      deps.logger.error({ task_id: req.task_id }, 'deliverKafka is not built yet');
      throw new Error('deliverKafka is not built yet (issue 4)');
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
