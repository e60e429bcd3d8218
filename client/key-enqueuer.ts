import { MAX_ENQUEUE_BATCH, type QueueEntry } from '../domain/ordering';

/**
 * A place in a key's enqueue order, taken when the order is known (an item's place in a batch, a record's offset)
 * and filled once the task has started. Entries go to the key in the order their places were taken.
 */
export interface EnqueueSlot {
  /** Sends `entry` in this place; resolves once the key has it (the signal that carries it was accepted). */
  fill(entry: QueueEntry): Promise<void>;
  /** Gives the place up (the task was not started); a filled place stays filled. */
  giveUp(): void;
}

type Send = (key: string, entries: [QueueEntry, ...QueueEntry[]]) => Promise<void>;

interface Place {
  entry?: QueueEntry;
  givenUp?: boolean;
  /** A signal ahead of this place failed: the place is void, and its fill fails with that error. */
  failed?: { error: unknown };
  settle?: { resolve(): void; reject(err: unknown): void };
}

/**
 * Group commit of enqueues, per ordering key: while one enqueue signal of a key is on its way, the entries that come
 * after it wait and then go together in the next signal (at most {@link MAX_ENQUEUE_BATCH}). A signal that fails
 * fails every place behind it as well, so that no task overtakes one whose enqueue failed. A key's first entry goes
 * at once, so a lone task waits for nothing; a burst of one key (a batch, a hot Kafka key) costs one signal and one
 * key workflow task per round trip instead of one per task. Written here because the batching must follow our order
 * rule (a place not yet filled holds back the places after it), which no general-purpose batcher knows.
 */
export class KeyEnqueuer {
  private readonly lines = new Map<string, { places: Place[]; sending: boolean }>();

  constructor(private readonly send: Send) {}

  /** Takes the next place in `key`'s enqueue order. */
  reserve(key: string): EnqueueSlot {
    let line = this.lines.get(key);
    if (!line) this.lines.set(key, (line = { places: [], sending: false }));
    const place: Place = {};
    line.places.push(place);
    return {
      fill: (entry) => {
        if (place.failed) return Promise.reject(place.failed.error);
        if (place.entry || place.givenUp)
          return Promise.reject(new Error(`enqueue place of ${entry.task_id} used twice`));
        place.entry = entry;
        const sent = new Promise<void>((resolve, reject) => (place.settle = { resolve, reject }));
        this.pump(key);
        return sent;
      },
      giveUp: () => {
        if (place.entry || place.givenUp || place.failed) return;
        place.givenUp = true;
        this.pump(key);
      },
    };
  }

  /** Sends the decided places at the front of `key`'s line, unless a signal of the key is on its way. */
  private pump(key: string): void {
    const line = this.lines.get(key);
    if (!line || line.sending) return;
    let ready = 0;
    while (
      ready < line.places.length &&
      ready < MAX_ENQUEUE_BATCH &&
      (line.places[ready]!.entry || line.places[ready]!.givenUp)
    )
      ready++;
    const batch = line.places.splice(0, ready).filter((p) => p.entry);
    if (batch.length === 0) {
      if (line.places.length === 0) this.lines.delete(key);
      return;
    }
    line.sending = true;
    const entries = batch.map((p) => p.entry!) as [QueueEntry, ...QueueEntry[]];
    void this.send(key, entries)
      .then(
        () => batch.forEach((p) => p.settle!.resolve()),
        (err: unknown) => {
          // The places behind a failed signal must not overtake its tasks (which rejoin by their acceptance time or
          // are submitted again): they fail too. Places taken from now on start a new line.
          const behind = line.places.splice(0);
          for (const p of [...batch, ...behind]) {
            p.failed = { error: err };
            p.settle?.reject(err);
          }
        },
      )
      .finally(() => {
        line.sending = false;
        this.pump(key);
      });
  }
}

/**
 * The order to start a batch's items in so that the enqueues of one key meet: the items of each key next to each
 * other, keys in the order they first appear, items without a key where they stand. Each key's items keep their item
 * order, and so do their places, which the caller takes in item order before it starts any.
 */
export function startOrder(keys: readonly (string | undefined)[]): number[] {
  const byKey = new Map<string, number[]>();
  keys.forEach((key, i) => {
    if (key === undefined) return;
    const items = byKey.get(key);
    if (items) items.push(i);
    else byKey.set(key, [i]);
  });
  const order: number[] = [];
  const placed = new Set<string>();
  keys.forEach((key, i) => {
    if (key === undefined) order.push(i);
    else if (!placed.has(key)) {
      placed.add(key);
      order.push(...byKey.get(key)!);
    }
  });
  return order;
}

/**
 * How to start a batch of tasks (their ordering keys, in item order) so that their order holds and the enqueues of a
 * key meet: every ordered item takes its place in its key's order now, in item order, before any starts; `order` is
 * the order to start them in ({@link startOrder}). Give each place up once done with its item, whatever happened.
 */
export function planBatch(
  enqueuer: KeyEnqueuer,
  keys: readonly (string | undefined)[],
): { order: number[]; places: (EnqueueSlot | undefined)[] } {
  const places = keys.map((key) => (key !== undefined ? enqueuer.reserve(key) : undefined));
  return { order: startOrder(keys), places };
}
