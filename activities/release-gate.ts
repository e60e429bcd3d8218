/**
 * The worker's due-time batcher for armed deliveries (lead-time release). A delivery due at T is armed a lead time
 * before T: its attempt-series activity starts early and waits here until T, so the engine's own latency (timer
 * firing, workflow task, activity dispatch: seconds under a burst on the dev server) is spent before T, not after.
 *
 * One Node timer per distinct due instant (milliseconds), not per delivery: 1,000 deliveries due at one instant
 * share one timer and are released in the same turn of the event loop. A waiter can be released early (retry-now)
 * or held back for good (cancel, requeue) by the worker that runs the workflow's local activity, when the armed
 * delivery is in the same process ({@link ReleaseGate.command}).
 *
 * A burst (the deliveries released by one instant's timer) sends first and reports after: each delivery tells the
 * gate when its send has finished ({@link ReleaseGate.afterSend}) and returns its result to the server only when every
 * send of its burst has finished, or {@link ReleaseGateOptions.maxHoldMs} after the release. Without the hold, the
 * first completions' server round trips and workflow tasks compete for the CPU with the sends still going out.
 */

/** How an armed delivery left the gate. */
export type GateExit = 'due' | 'released_early' | 'held' | 'aborted';

/** What the workflow asks of an armed delivery before it interrupts it. */
export type GateCommand = 'release_now' | 'hold';

interface Waiter {
  key: string;
  dueMs: number;
  resolve(exit: GateExit): void;
}

/** The deliveries released together by one instant's timer, until their sends have finished. */
interface Burst {
  keys: string[];
  pending: number;
  done: Promise<void>;
  finish(): void;
}

export interface ReleaseGateStats {
  /** Deliveries waiting in the gate now. */
  armed: number;
  /** Distinct due instants (one timer each). */
  instants: number;
  /** Deliveries of a burst still sending (their burst's completions are held back). */
  sending: number;
}

export class ReleaseGate {
  private readonly byInstant = new Map<number, Set<Waiter>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly byKey = new Map<string, Waiter>();
  private readonly inBurst = new Map<string, Burst>();

  /**
   * @param now clock in epoch milliseconds (tests may pass their own)
   * @param onRelease called with each release's lateness in milliseconds and how many went (metrics); a delivery
   *   armed after its due time counts too
   * @param maxHoldMs longest a burst's completions are held back after its release, milliseconds (well below the
   *   series activity's heartbeat timeout, the lead plus 15 s) @default 5000
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly onRelease?: (latenessMs: number, count: number) => void,
    private readonly maxHoldMs = 5_000,
  ) {}

  /**
   * Waits until `dueMs` (epoch ms). `key` names the armed delivery (workflow id + activity id) so the workflow can
   * release or hold it. Resolves at once when `dueMs` has passed; `signal` aborts the wait (activity cancelled).
   */
  wait(key: string, dueMs: number, signal?: AbortSignal): Promise<GateExit> {
    if (signal?.aborted) return Promise.resolve('aborted');
    const now = this.now();
    if (dueMs <= now) {
      // Armed after its due time (the engine was behind): it goes at once, and its lateness counts.
      this.onRelease?.(now - dueMs, 1);
      return Promise.resolve('due');
    }
    return new Promise<GateExit>((resolve) => {
      const onAbort = () => this.leave(waiter, 'aborted');
      const waiter: Waiter = {
        key,
        dueMs,
        resolve: (exit) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(exit);
        },
      };
      const previous = this.byKey.get(key);
      if (previous) this.leave(previous, 'held');
      this.byKey.set(key, waiter);
      let group = this.byInstant.get(dueMs);
      if (!group) {
        group = new Set();
        this.byInstant.set(dueMs, group);
        this.timers.set(dueMs, this.timerFor(dueMs));
      }
      group.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Applies a workflow's command to an armed delivery in this process. Returns false when none is armed here under
   * `key` (another worker holds it, or it already left the gate).
   */
  command(key: string, cmd: GateCommand): boolean {
    const waiter = this.byKey.get(key);
    if (!waiter) return false;
    this.leave(waiter, cmd === 'release_now' ? 'released_early' : 'held');
    return true;
  }

  /**
   * Called when the send of the delivery released under `key` has finished (whatever its outcome). Resolves when its
   * result may be reported: at once for a delivery released alone (early, late, or the only one of its instant);
   * for one of a burst, when every send of the burst has finished or `maxHoldMs` after the release.
   */
  afterSend(key: string): Promise<void> {
    const burst = this.inBurst.get(key);
    if (!burst) return Promise.resolve();
    this.inBurst.delete(key);
    if (--burst.pending === 0) burst.finish();
    return burst.done;
  }

  /** Whether a delivery is armed here under `key`. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  stats(): ReleaseGateStats {
    return { armed: this.byKey.size, instants: this.byInstant.size, sending: this.inBurst.size };
  }

  /** Releases nothing and forgets everything (worker shutdown: the armed activities are cancelled by the SDK). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of [...this.byKey.values()]) this.leave(waiter, 'aborted');
    for (const burst of new Set(this.inBurst.values())) burst.finish();
  }

  private timerFor(dueMs: number): NodeJS.Timeout {
    // Node timers fire at or after their delay, never before; a long wait is re-armed in steps so clock changes of
    // the machine during the lead are followed.
    const delay = Math.min(Math.max(0, dueMs - this.now()), 30_000);
    return setTimeout(() => {
      if (dueMs > this.now()) {
        this.timers.set(dueMs, this.timerFor(dueMs));
        return;
      }
      this.fire(dueMs);
    }, delay);
  }

  private fire(dueMs: number): void {
    this.timers.delete(dueMs);
    const group = this.byInstant.get(dueMs);
    this.byInstant.delete(dueMs);
    if (!group || group.size === 0) return;
    this.onRelease?.(this.now() - dueMs, group.size);
    const burst = group.size > 1 ? this.burstOf(group) : undefined;
    for (const waiter of group) {
      this.byKey.delete(waiter.key);
      if (burst) this.inBurst.set(waiter.key, burst);
      waiter.resolve('due');
    }
  }

  private burstOf(group: Set<Waiter>): Burst {
    let release!: () => void;
    const burst: Burst = {
      keys: [...group].map((w) => w.key),
      pending: group.size,
      done: new Promise<void>((resolve) => (release = resolve)),
      finish: () => {
        clearTimeout(timer);
        // A delivery that never reported its send (cancelled, failed before sending) is forgotten with its burst.
        for (const key of burst.keys) if (this.inBurst.get(key) === burst) this.inBurst.delete(key);
        release();
      },
    };
    const timer = setTimeout(burst.finish, this.maxHoldMs);
    timer.unref();
    return burst;
  }

  private leave(waiter: Waiter, exit: GateExit): void {
    if (this.byKey.get(waiter.key) === waiter) this.byKey.delete(waiter.key);
    const group = this.byInstant.get(waiter.dueMs);
    if (group?.delete(waiter) && group.size === 0) {
      this.byInstant.delete(waiter.dueMs);
      clearTimeout(this.timers.get(waiter.dueMs));
      this.timers.delete(waiter.dueMs);
    }
    waiter.resolve(exit);
  }
}
