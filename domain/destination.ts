import type { Destination, HttpDestination, KafkaDestination, StoredTask, Task } from './task';

/**
 * Destination kinds and the pure, workflow-safe part of each kind's adapter (free of zod, so the workflow bundle can
 * use it; the schemas that validate destinations live in task.ts). Every parsed destination carries its `kind`
 * (the schema fills it in when a request leaves it out); {@link tagDestination} is the one place that tells the kind
 * of a destination recorded without one. Adding a kind: README "Adding a destination kind".
 */

export const DestinationType = { Kafka: 'kafka', Http: 'http' } as const;
export type DestinationType = (typeof DestinationType)[keyof typeof DestinationType];

/** Every kind, for enums in schemas, CLI choices and checks. */
export const destinationTypes = Object.values(DestinationType) as [DestinationType, ...DestinationType[]];

/** The destination object of each kind. */
export interface DestinationOfKind {
  http: HttpDestination;
  kafka: KafkaDestination;
}

/** HTTP method of a destination that names none. */
export const DEFAULT_HTTP_METHOD = 'POST';

/** Fails to compile when a `switch` over kinds misses one; throws if an unknown kind arrives at run time. */
export function assertNever(x: never): never {
  throw new Error(`unhandled destination kind: ${JSON.stringify(x)}`);
}

/** What each kind tells about its destinations, without I/O. */
interface DestinationDescriber<K extends DestinationType> {
  /** A one-line human description for summaries and logs (no secrets). */
  describe(d: DestinationOfKind[K]): string;
  /** The Kafka topic the message is meant for, when the kind has one (dead letters name it). */
  topic(d: DestinationOfKind[K]): string | undefined;
}

const describers: { [K in DestinationType]: DestinationDescriber<K> } = {
  http: {
    describe: (d) => `${d.method ?? DEFAULT_HTTP_METHOD} ${d.url}`,
    topic: () => undefined,
  },
  kafka: {
    describe: (d) => `kafka ${d.topic}@${d.cluster ?? d.brokers?.join(',') ?? `${d.host}:${d.port}`}`,
    topic: (d) => d.topic,
  },
};

/**
 * A destination as workflow and activity inputs may hold it: tagged with its `kind` (every destination parsed since
 * kinds were declared), or without one (inputs recorded before; their kind follows from the required field).
 */
export type StoredDestination = Destination | UntaggedDestination;
type UntaggedDestination = {
  [K in DestinationType]: Omit<DestinationOfKind[K], 'kind'> & { kind?: undefined };
}[DestinationType];

/**
 * The destination with its declared kind. One without (recorded before kinds were declared) is told by its required
 * field, `url` for HTTP and `topic` for Kafka: this is the only place that looks at fields to tell a kind.
 */
export function tagDestination(d: StoredDestination): Destination {
  if (d.kind !== undefined) return d;
  return 'url' in d ? { ...d, kind: DestinationType.Http } : { ...d, kind: DestinationType.Kafka };
}

/** The task with its destinations' kinds filled in (see {@link tagDestination}). */
export function tagTask(task: StoredTask): Task {
  const dead = task.dead_destination;
  return {
    ...task,
    destination: tagDestination(task.destination),
    ...(dead ? { dead_destination: tagDestination(dead) } : {}),
  } as Task;
}

/** The kind of a destination. */
export function destinationKind(d: StoredDestination): DestinationType {
  return tagDestination(d).kind;
}

function describerOf<K extends DestinationType>(kind: K): DestinationDescriber<K> {
  return describers[kind];
}

/** A one-line human description of a destination, for summaries and logs (no secrets). */
export function describeDestination(d: StoredDestination): string {
  const t = tagDestination(d);
  return describerOf(t.kind).describe(t as never);
}

/** The Kafka topic a destination names, if its kind has topics. */
export function destinationTopic(d: StoredDestination): string | undefined {
  const t = tagDestination(d);
  return describerOf(t.kind).topic(t as never);
}

/**
 * Temporal priority key of a task (1 is served first). Priority tasks get 1, the others the middle of the default
 * range, for the workflow (client/tasks.ts) and its activities (the workflow) alike.
 */
export function priorityKeyOf(task: { is_priority: boolean }): number {
  return task.is_priority ? 1 : 3;
}

/** The bootstrap brokers of a Kafka destination that names them (undefined when it names a cluster instead). */
export function kafkaBrokersOf(d: KafkaDestination): string[] | undefined {
  if (d.brokers) return d.brokers;
  if (d.host !== undefined && d.port !== undefined) return [`${d.host}:${d.port}`];
  return undefined;
}

/** The HTTP URLs a task's destinations name, with their field paths (for the SSRF pre-check). */
export function httpUrlsOf(task: {
  destination: StoredDestination;
  dead_destination?: StoredDestination | null;
}): [string, string][] {
  const urls: [string, string][] = [];
  for (const [field, d] of [
    ['destination', task.destination],
    ['dead_destination', task.dead_destination],
  ] as const) {
    if (!d) continue;
    const t = tagDestination(d);
    switch (t.kind) {
      case 'http':
        urls.push([`${field}.url`, t.url]);
        break;
      case 'kafka':
        break;
      default:
        assertNever(t);
    }
  }
  return urls;
}

/** True for a known kind (e.g. a search attribute's value). */
export function isDestinationType(x: unknown): x is DestinationType {
  return (destinationTypes as readonly unknown[]).includes(x);
}
