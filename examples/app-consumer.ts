import { retryableHandler } from '../index';
import { appTopic, brokers, config, kafka, untilSignal } from './example-kafka';

/**
 * An application consumer that hands failures to the retry service (`npm run example:app-consumer`).
 *
 * Messages whose text contains "flaky" fail on first delivery and succeed when the retry service brings them back;
 * messages containing "broken" always fail and end on `<topic>.dlt` after 3 hand-offs. The partition never waits.
 * Produce some with `npm run example:produce-orders`.
 */
async function run() {
  const producer = kafka.producer({ idempotent: true });
  const consumer = kafka.consumer({ groupId: 'example-orders-app' });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topics: [appTopic], fromBeginning: true });

  await consumer.run({
    eachMessage: retryableHandler(
      async ({ message }) => {
        const text = message.value?.toString() ?? '';
        const attempt = message.headers?.['retry-attempt']?.toString() ?? '0';
        // Step 1: the business logic; here it fails on purpose.
        if (text.includes('broken') || (text.includes('flaky') && attempt === '0')) {
          throw new Error(`could not process "${text}" (attempt ${attempt})`);
        }
        console.log(`processed "${text}" (after ${attempt} hand-off(s))`);
      },
      {
        producer,
        name: 'example-orders-app',
        brokers,
        retryRequestTopic: config.INGRESS_RETRY_TOPIC,
        maxRetries: 3,
        backoff: { initialDelaySeconds: 2, maxDelaySeconds: 30 },
        onRetry: (e) =>
          console.log(
            `handed off ${e.topic}/${e.partition}/${e.offset} as ${e.taskId}; back at ${e.deliverAt.toISOString()}`,
          ),
        onGiveUp: (e) =>
          console.log(`gave up on ${e.topic}/${e.partition}/${e.offset} (${e.reason}) → ${e.deadLetterTopic}`),
      },
    ),
  });
  console.log(`consuming ${appTopic}; Ctrl-C to stop`);

  await untilSignal();
  await consumer.disconnect();
  await producer.disconnect();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
