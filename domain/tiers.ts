/**
 * The delay-tier ladder (seed 000): named waits from 5 seconds to 5 days. A task may name one as its first delay;
 * the Kafka ingress derives one topic per tier from these names (`<prefix><tier>`, e.g. `retry.delay.30s`).
 */
export const delayTiers = {
  '5s': 5,
  '10s': 10,
  '20s': 20,
  '30s': 30,
  '1m': 60,
  '2m': 120,
  '5m': 300,
  '10m': 600,
  '15m': 900,
  '30m': 1_800,
  '1h': 3_600,
  '2h': 7_200,
  '6h': 21_600,
  '12h': 43_200,
  '1d': 86_400,
  '2d': 172_800,
  '3d': 259_200,
  '4d': 345_600,
  '5d': 432_000,
} as const satisfies Record<string, number>;

/** A tier name such as `'30s'` or `'2d'`. */
export type DelayTier = keyof typeof delayTiers;

/** Tier names in ascending order of delay. */
export const delayTierNames = Object.keys(delayTiers) as [DelayTier, ...DelayTier[]];

/** Seconds of delay for a tier. */
export function tierSeconds(tier: DelayTier): number {
  return delayTiers[tier];
}

/** The Kafka topic for a tier under a prefix, e.g. `tierTopic('retry.delay.', '5s') === 'retry.delay.5s'`. */
export function tierTopic(prefix: string, tier: DelayTier): string {
  return `${prefix}${tier}`;
}

/** The tier a topic belongs to, when it is `<prefix><tier>`. */
export function tierFromTopic(prefix: string, topic: string): DelayTier | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const name = topic.slice(prefix.length);
  return name in delayTiers ? (name as DelayTier) : undefined;
}
