import { appTopic, config, kafka, untilSignal } from './example-kafka';

/**
 * Prints what reached the dead-letter topics (`npm run example:read-dead-letters`): the ingress DLQ (malformed
 * requests, with `retry-ingress-error`) and the application's `<topic>.dlt` (retries used up, with `retry-last-error`).
 * Reads from the beginning with a throwaway group; Ctrl-C to stop.
 */
async function run() {
  const topics = [config.INGRESS_DLQ_TOPIC, `${appTopic}.dlt`];
  const consumer = kafka.consumer({ groupId: `example-dlq-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [name, value?.toString()]),
      );
      console.log(
        JSON.stringify({ topic, partition, offset: message.offset, value: message.value?.toString(), headers }),
      );
    },
  });
  console.log(`reading ${topics.join(', ')}; Ctrl-C to stop`);
  await untilSignal();
  await consumer.disconnect();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
