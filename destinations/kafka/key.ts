/** The guard key of a Kafka destination: the topic on its (sorted) bootstrap brokers. */
export function kafkaDestinationKey(brokers: readonly string[], topic: string): string {
  return `kafka://${[...brokers].sort().join(',')}/${topic}`;
}
