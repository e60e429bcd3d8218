import type { Destination, KafkaDestination } from './task';

/**
 * Pure helpers over destinations and tasks, free of zod so the workflow bundle can use them (the schemas that
 * validate them live in task.ts).
 */

export const DestinationType = { Kafka: 'kafka', Http: 'http' } as const;
export type DestinationType = (typeof DestinationType)[keyof typeof DestinationType];

/** HTTP method of a destination that names none. */
export const DEFAULT_HTTP_METHOD = 'POST';

/**
 * Temporal priority key of a task (1 is served first). Priority tasks get 1, the others the middle of the default
 * range, for the workflow (client/tasks.ts) and its activities (the workflow) alike.
 */
export function priorityKeyOf(task: { is_priority: boolean }): number {
  return task.is_priority ? 1 : 3;
}

/** The kind of a destination object, from its fields. */
export function destinationKind(d: Destination): DestinationType {
  return 'url' in d ? 'http' : 'kafka';
}

/** A one-line human description of a destination, for summaries and logs (no secrets). */
export function describeDestination(d: Destination): string {
  if ('url' in d) return `${d.method ?? DEFAULT_HTTP_METHOD} ${d.url}`;
  const where = d.cluster ?? d.brokers?.join(',') ?? `${d.host}:${d.port}`;
  return `kafka ${d.topic}@${where}`;
}

/** The bootstrap brokers of a Kafka destination that names them (undefined when it names a cluster instead). */
export function kafkaBrokersOf(d: KafkaDestination): string[] | undefined {
  if (d.brokers) return d.brokers;
  if (d.host !== undefined && d.port !== undefined) return [`${d.host}:${d.port}`];
  return undefined;
}
