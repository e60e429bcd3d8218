import type { DeliveryReceipt, DeliveryRequest } from '../domain/delivery';
import type { DestinationOfKind, DestinationType } from '../domain/destination';
import type { HttpDeliveryDeps } from './http/deliver';
import type { KafkaDeliveryDeps } from './kafka/deliver';

/** The worker's shared delivery machinery (activities/deps.ts builds it); each adapter uses its kind's part. */
export type AdapterDeps = HttpDeliveryDeps & KafkaDeliveryDeps;

/**
 * What a destination kind provides to the activities: one delivery attempt to a destination of that kind. Its
 * client, failure classification and guard key live beside it in destinations/<kind>/.
 */
export interface DestinationAdapter<K extends DestinationType> {
  /**
   * One attempt.
   * @returns the receipt of a delivery the destination accepted
   * @throws DeliveryError, classified (domain/failures.ts)
   */
  deliverOnce(
    deps: AdapterDeps,
    req: DeliveryRequest<DestinationOfKind[K]>,
    signal?: AbortSignal,
  ): Promise<DeliveryReceipt>;
}
