/** Thrown when no slot frees up within the allowed wait. */
export class ConcurrencyLimitTimeoutError extends Error {
  constructor(
    public readonly limit: number,
    public readonly waitedMs: number,
  ) {
    super(`all ${limit} delivery slots of this destination stayed busy for ${waitedMs} ms`);
    this.name = 'ConcurrencyLimitTimeoutError';
  }
}

interface Waiter {
  grant: () => void;
}

/**
 * A counting semaphore whose waiters give up after a bounded wait or on abort (cockatiel's bulkhead queue does not
 * honour an abort signal while queued, and an activity waiting for a slot must stay cancellable). First come, first
 * served.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  /** @param limit slots (DESTINATION_MAX_CONCURRENCY) */
  constructor(public readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('ConcurrencyLimit.limit must be a positive integer');
  }

  /** Deliveries holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** Deliveries waiting for a slot now. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Runs `fn` holding a slot.
   * @param maxWaitMs how long to wait for a slot before {@link ConcurrencyLimitTimeoutError}, milliseconds
   * @param signal rejects the wait with `signal.reason` when aborted
   */
  async run<T>(fn: () => Promise<T>, maxWaitMs: number, signal?: AbortSignal): Promise<T> {
    await this.acquire(maxWaitMs, signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          cleanup();
          this.active++;
          resolve();
        },
      };
      const leave = (err: unknown) => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => leave(new ConcurrencyLimitTimeoutError(this.limit, maxWaitMs)), maxWaitMs);
      const onAbort = () => leave(signal?.reason);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    this.active--;
    this.waiters.shift()?.grant();
  }
}
