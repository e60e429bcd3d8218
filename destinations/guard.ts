import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { DeliveryFailureType } from '../domain/failures';
import { ConcurrencyLimit, ConcurrencyLimitTimeoutError } from './concurrency-limit';
import { deferred, DeliveryError, DestinationPausedError } from './delivery-error';

/** Circuit states as reported to metrics and logs. */
export const CircuitStatus = { Closed: 'closed', Open: 'open', HalfOpen: 'half_open' } as const;
export type CircuitStatus = (typeof CircuitStatus)[keyof typeof CircuitStatus];

/** Options of the per-destination protection (one set per worker process). */
export interface DestinationGuardOptions {
  /** BREAKER_CONSECUTIVE_FAILURES: retryable failures in a row that open a destination's circuit. @default 5 */
  consecutiveFailures: number;
  /** BREAKER_HALF_OPEN_AFTER_SECONDS, in milliseconds: how long an open circuit defers before one probe. @default 30000 */
  halfOpenAfterMs: number;
  /** DESTINATION_MAX_CONCURRENCY: deliveries in flight to one destination. @default 100 */
  maxConcurrency: number;
  /**
   * How long a delivery waits for a free slot before it is deferred (like an open circuit: nothing sent, the
   * attempt not counted), milliseconds. @default 5000
   */
  maxSlotWaitMs?: number;
  /** Called when a circuit opens, half-opens or closes (metrics, logs). */
  onStateChange?: (destination: string, status: CircuitStatus) => void;
  /**
   * Called for each delivery that found every slot of its destination busy, with how long it waited (milliseconds),
   * so a burst serialised by the cap shows in metrics instead of only as lateness.
   */
  onSlotWait?: (destination: string, waitedMs: number) => void;
  /** True while a destination is paused (destination pause and resume); never paused when omitted. */
  isPaused?: (destination: string) => boolean;
  /**
   * Called after each delivery through the guard: `success`, `failure` (a retryable failure: the destination is
   * unwell) or `deferred` (nothing sent: open circuit). Permanent refusals are not reported (the receiver is up).
   */
  onOutcome?: (destination: string, outcome: 'success' | 'failure' | 'deferred') => void;
  /** Destinations tracked before idle, closed ones are forgotten. @default 10000 */
  maxTracked?: number;
}

interface Entry {
  breaker: CircuitBreakerPolicy;
  limit: ConcurrencyLimit;
  /** Set while the circuit is open: when it opened (ms since epoch). */
  openedAt?: number;
}

/**
 * Per-destination circuit breaker (cockatiel, consecutive retryable failures) and concurrency cap. Only retryable
 * {@link DeliveryError}s count as failures: a 4xx means the receiver is up. While a circuit is open, {@link run}
 * throws a `CircuitOpen` {@link DeliveryError} carrying `circuit_open_until` without calling `fn`; after
 * `halfOpenAfterMs` one delivery goes through as the probe (others wait for its outcome), and its success closes
 * the circuit.
 */
export class DestinationGuards {
  private readonly entries = new Map<string, Entry>();
  private readonly maxSlotWaitMs: number;
  private readonly maxTracked: number;

  constructor(private readonly opts: DestinationGuardOptions) {
    if (opts.consecutiveFailures < 1) throw new Error('DestinationGuards.consecutiveFailures must be at least 1');
    if (opts.halfOpenAfterMs <= 0) throw new Error('DestinationGuards.halfOpenAfterMs must be positive');
    this.maxSlotWaitMs = opts.maxSlotWaitMs ?? 5_000;
    this.maxTracked = opts.maxTracked ?? 10_000;
  }

  /**
   * Runs one delivery to `destination` under its breaker and concurrency cap.
   * @param destination a bounded key: each kind's `key.ts` (its origin, or its topic on its brokers)
   * @param signal abandons a wait for a slot (activity cancellation)
   * @param pausable true when a paused destination holds this delivery back (primary deliveries)
   * @throws DestinationPausedError when `pausable` and the destination is paused (nothing sent)
   * @throws DeliveryError of type CircuitOpen when deferred; otherwise whatever `fn` throws
   */
  async run<T>(destination: string, fn: () => Promise<T>, signal?: AbortSignal, pausable = false): Promise<T> {
    if (pausable && this.opts.isPaused?.(destination)) throw new DestinationPausedError(destination);
    const entry = this.entry(destination);
    const openUntil = this.openUntil(entry);
    if (openUntil !== undefined && openUntil > Date.now()) {
      this.opts.onOutcome?.(destination, 'deferred');
      throw this.circuitOpen(destination, openUntil);
    }
    try {
      const result = await this.limited(destination, entry, fn, signal);
      this.opts.onOutcome?.(destination, 'success');
      return result;
    } catch (err) {
      if (err instanceof DeliveryError && this.opts.onOutcome) {
        if (err.isRetryable) this.opts.onOutcome(destination, 'failure');
        else if (err.type === DeliveryFailureType.CircuitOpen) this.opts.onOutcome(destination, 'deferred');
      }
      throw err;
    }
  }

  /** `fn` under the concurrency cap and the breaker; their refusals become CircuitOpen deferrals. */
  private async limited<T>(destination: string, entry: Entry, fn: () => Promise<T>, signal?: AbortSignal) {
    try {
      const queuedAt = entry.limit.inFlight >= entry.limit.limit ? performance.now() : undefined;
      return await entry.limit.run(
        () => {
          if (queuedAt !== undefined) this.opts.onSlotWait?.(destination, performance.now() - queuedAt);
          return entry.breaker.execute(fn);
        },
        this.maxSlotWaitMs,
        signal,
      );
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw this.circuitOpen(destination, this.openUntil(entry) ?? Date.now() + this.opts.halfOpenAfterMs);
      }
      if (err instanceof ConcurrencyLimitTimeoutError) {
        throw deferred(`destination ${destination} is saturated: ${err.message}`, {
          error_class: 'destination_busy',
          duration_ms: err.waitedMs,
          circuit_open_until: new Date(Date.now() + this.maxSlotWaitMs).toISOString(),
        });
      }
      throw err;
    }
  }

  /** The circuit status of a destination (closed when never seen). */
  status(destination: string): { status: CircuitStatus; openUntil?: Date } {
    const entry = this.entries.get(destination);
    if (!entry) return { status: CircuitStatus.Closed };
    const until = this.openUntil(entry);
    return { status: toStatus(entry.breaker.state), ...(until !== undefined ? { openUntil: new Date(until) } : {}) };
  }

  private openUntil(entry: Entry): number | undefined {
    return entry.openedAt === undefined ? undefined : entry.openedAt + this.opts.halfOpenAfterMs;
  }

  private circuitOpen(destination: string, untilMs: number): DeliveryError {
    const until = new Date(untilMs).toISOString();
    return deferred(`destination circuit open until ${until} (${destination})`, {
      error_class: 'circuit_open',
      duration_ms: 0,
      circuit_open_until: until,
    });
  }

  private entry(destination: string): Entry {
    const existing = this.entries.get(destination);
    if (existing) return existing;
    if (this.entries.size >= this.maxTracked) this.forgetIdle();
    const breaker = circuitBreaker(
      handleWhen((err) => err instanceof DeliveryError && err.isRetryable),
      { halfOpenAfter: this.opts.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.opts.consecutiveFailures) },
    );
    const entry: Entry = { breaker, limit: new ConcurrencyLimit(this.opts.maxConcurrency) };
    breaker.onBreak(() => {
      entry.openedAt = Date.now();
    });
    breaker.onReset(() => {
      entry.openedAt = undefined;
    });
    breaker.onStateChange((state) => this.opts.onStateChange?.(destination, toStatus(state)));
    this.entries.set(destination, entry);
    return entry;
  }

  private forgetIdle(): void {
    for (const [key, e] of this.entries) {
      if (e.breaker.state === CircuitState.Closed && e.limit.inFlight === 0 && e.limit.queued === 0) {
        this.entries.delete(key);
      }
    }
  }
}

function toStatus(state: CircuitState): CircuitStatus {
  if (state === CircuitState.Closed) return CircuitStatus.Closed;
  if (state === CircuitState.HalfOpen) return CircuitStatus.HalfOpen;
  return CircuitStatus.Open;
}
