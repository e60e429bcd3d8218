import type { Destination, HttpDestination, KafkaDestination } from './task';

/**
 * Destination kinds and the pure, workflow-safe part of each kind's adapter (free of zod, so the workflow bundle can
 * use it; the schemas that validate destinations live in task.ts). A task declares its primary destination's kind in
 * `destination_type`; {@link destinationKind} is the one place that tells a dead destination's kind from its fields.
 * Adding a kind: README "Adding a destination kind".
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
 * The kind of a destination object. Destinations are told apart by their required field (`url` for HTTP, `topic`
 * for Kafka): this is the only place that looks.
 */
export function destinationKind(d: Destination): DestinationType {
  return 'url' in d ? DestinationType.Http : DestinationType.Kafka;
}

/** A destination with its kind, for a typed `switch`. */
export type KindedDestination = {
  [K in DestinationType]: { kind: K; destination: DestinationOfKind[K] };
}[DestinationType];

/** Pairs a destination with its kind. */
export function withKind(d: Destination): KindedDestination {
  return { kind: destinationKind(d), destination: d } as KindedDestination;
}

function describerOf<K extends DestinationType>(kind: K): DestinationDescriber<K> {
  return describers[kind];
}

/** A one-line human description of a destination, for summaries and logs (no secrets). */
export function describeDestination(d: Destination): string {
  const k = withKind(d);
  return describerOf(k.kind).describe(k.destination as never);
}

/** The Kafka topic a destination names, if its kind has topics. */
export function destinationTopic(d: Destination): string | undefined {
  const k = withKind(d);
  return describerOf(k.kind).topic(k.destination as never);
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
  destination: Destination;
  dead_destination?: Destination | null;
}): [string, string][] {
  const urls: [string, string][] = [];
  for (const [field, d] of [
    ['destination', task.destination],
    ['dead_destination', task.dead_destination],
  ] as const) {
    if (!d) continue;
    const k = withKind(d);
    switch (k.kind) {
      case 'http':
        urls.push([`${field}.url`, k.destination.url]);
        break;
      case 'kafka':
        break;
      default:
        assertNever(k);
    }
  }
  return urls;
}

/** True for a known kind (e.g. a search attribute's value). */
export function isDestinationType(x: unknown): x is DestinationType {
  return (destinationTypes as readonly unknown[]).includes(x);
}
