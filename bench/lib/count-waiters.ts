/**
 * Waits for a growing count (deliveries, records, arrivals) to reach a number. The owner calls {@link notify}
 * whenever the count may have grown; {@link waitFor} resolves once `count() >= n`, or rejects after `timeoutMs`
 * milliseconds with `describe(count, n, timeoutMs)`.
 */
export class CountWaiters {
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly count: () => number,
    private readonly describe: (have: number, n: number, timeoutMs: number) => string,
  ) {}

  notify(): void {
    for (const wake of this.waiters) wake();
  }

  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.count() >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.count() < n) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(this.describe(this.count(), n, timeoutMs)));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}
