import { appTopic, kafka } from './example-kafka';

/**
 * Produces a few orders for `example:app-consumer` (`npm run example:produce-orders [-- text …]`): one that works,
 * one "flaky" (succeeds on its first retry), one "broken" (ends on the dead-letter topic).
 */
async function run() {
  const texts = process.argv.slice(2);
  const values = texts.length > 0 ? texts : ['order 1', 'order 2 flaky', 'order 3 broken'];
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: appTopic,
    messages: values.map((value, i) => ({ key: `order-${i + 1}`, value })),
  });
  console.log(`produced ${values.length} message(s) to ${appTopic}`);
  await producer.disconnect();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
