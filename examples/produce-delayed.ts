import { parseArgs } from 'node:util';
import { RetryHeader } from '../sdk/headers';
import { delayTierNames, tierTopic, type DelayTier } from '../domain/tiers';
import { appTopic, config, kafka } from './example-kafka';

/**
 * Delayed delivery through a tier topic (seed 000): `npm run example:produce-delayed -- --tier 5s --target orders
 * "hello later"`, or `--at 2030-01-01T00:00:00Z` for an exact time. The ingress starts a workflow whose durable timer
 * fires at the timestamp + tier (or at `--at`); then the message lands on the target topic.
 */
async function run() {
  const { values, positionals } = parseArgs({
    options: {
      tier: { type: 'string', default: '5s' },
      target: { type: 'string', default: appTopic },
      at: { type: 'string' },
      id: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (!delayTierNames.includes(values.tier as DelayTier)) {
    throw new Error(`--tier must be one of ${delayTierNames.join(', ')}`);
  }
  const topic = tierTopic(config.INGRESS_TIER_PREFIX, values.tier as DelayTier);
  const headers: Record<string, string> = { [RetryHeader.TargetTopic]: values.target };
  if (values.at) headers[RetryHeader.ProcessAt] = values.at;
  if (values.id) headers[RetryHeader.MessageId] = values.id;

  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: positionals.join(' ') || 'hello from the future', headers }] });
  console.log(
    `produced to ${topic}; expect it on ${values.target} ${values.at ? `at ${values.at}` : `in ${values.tier}`}`,
  );
  await producer.disconnect();
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
