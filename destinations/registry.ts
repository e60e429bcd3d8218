import type { DestinationType } from '../domain/destination';
import type { DestinationAdapter } from './adapter';
import { httpAdapter } from './http';
import { kafkaAdapter } from './kafka';

export type { AdapterDeps, DestinationAdapter } from './adapter';

/** The adapter of every destination kind; a kind missing here does not compile. */
export const destinationAdapters: { [K in DestinationType]: DestinationAdapter<K> } = {
  http: httpAdapter,
  kafka: kafkaAdapter,
};
