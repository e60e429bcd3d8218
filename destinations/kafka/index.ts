import type { DestinationAdapter } from '../adapter';
import { deliverKafkaOnce } from './deliver';

/** Kafka topics: one idempotent produce (acks = all) per attempt with the pooled producer of the brokers. */
export const kafkaAdapter: DestinationAdapter<'kafka'> = { deliverOnce: deliverKafkaOnce };
