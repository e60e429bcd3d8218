import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { listDestinations, pauseDestination, reportBreaker } from '../client/destinations';
import { DestinationState } from '../domain/destination-pause';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { NotifyConfig } from '../activities/lifecycle-events';

export interface DestinationPausesOptions {
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** Who reports and auto-pauses (the worker's identity). */
  identity: string;
  /** DESTINATION_PAUSE_REFRESH_MS. */
  refreshMs: number;
  /** DESTINATION_AUTO_PAUSE_AFTER_SECONDS in milliseconds; 0 = off. */
  autoPauseAfterMs: number;
  /** DESTINATION_AUTO_PAUSE_AFTER_FAILURES; 0 = off. */
  autoPauseAfterFailures: number;
  /** Where an automatic pause is notified (`destination.paused`); absent: not notified. */
  notify?: NotifyConfig;
}

/** A destination failing without a success in between, as this process saw it. */
interface Failing {
  sinceMs: number;
  failures: number;
  pausing: boolean;
}

/** Attempt counts of the current and the previous minute (failure rate over the last one to two minutes). */
interface RateWindow {
  startMs: number;
  ok: number;
  failed: number;
  prevOk: number;
  prevFailed: number;
}

const WINDOW_MS = 60_000;

/**
 * One worker process's view of destination pauses (domain/destination-pause.ts): the paused keys, re-read from
 * visibility every `refreshMs` (the guard asks {@link isPaused} before each primary delivery); the automatic pause
 * of a destination failing continuously; and breaker changes reported to the destination's control workflow.
 */
export class DestinationPauses {
  private paused = new Set<string>();
  private readonly failing = new Map<string, Failing>();
  private readonly windows = new Map<string, RateWindow>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly opts: DestinationPausesOptions) {}

  /** Reads the paused destinations once, then keeps re-reading them in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  isPaused(key: string): boolean {
    return this.paused.has(key);
  }

  /** Re-reads the paused destinations; a destination no longer paused starts counting its failures afresh. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const views = await listDestinations(this.opts.client, this.opts.taskQueue);
        const now = new Set(views.filter((v) => v.state === DestinationState.Paused).map((v) => v.key));
        for (const key of this.paused) if (!now.has(key)) this.failing.delete(key);
        this.paused = now;
      } catch (err) {
        // Keep the last view: a pause is not lifted because visibility did not answer once.
        this.opts.logger.warn({ err }, 'could not read paused destinations; keeping the last view');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** A delivery outcome from the destination guard: counts toward the failure rate and the automatic pause. */
  onOutcome(key: string, outcome: 'success' | 'failure' | 'deferred'): void {
    const nowMs = Date.now();
    if (outcome !== 'deferred') this.count(key, outcome === 'success', nowMs);
    if (outcome === 'success') {
      this.failing.delete(key);
      return;
    }
    const { autoPauseAfterMs: afterMs, autoPauseAfterFailures: afterFailures } = this.opts;
    if (afterMs <= 0 && afterFailures <= 0) return;
    let f = this.failing.get(key);
    if (!f) {
      if (outcome === 'deferred') return;
      f = { sinceMs: nowMs, failures: 0, pausing: false };
      this.failing.set(key, f);
    }
    if (outcome === 'failure') f.failures += 1;
    const due = (afterFailures > 0 && f.failures >= afterFailures) || (afterMs > 0 && nowMs - f.sinceMs >= afterMs);
    if (due && !f.pausing && !this.paused.has(key)) this.autoPause(key, f);
  }

  /** A breaker change of this worker, reported to the destination's control workflow. */
  onBreakerChange(key: string, breaker: string): void {
    const w = this.windows.get(key);
    const ok = (w?.ok ?? 0) + (w?.prevOk ?? 0);
    const failed = (w?.failed ?? 0) + (w?.prevFailed ?? 0);
    const report = {
      worker: this.opts.identity,
      breaker,
      failure_rate: ok + failed > 0 ? Math.round((failed / (ok + failed)) * 1000) / 1000 : 0,
      attempts: ok + failed,
      at: new Date().toISOString(),
    };
    reportBreaker(this.ref(key), report).catch((err: unknown) =>
      this.opts.logger.warn({ err, destination: key }, 'could not report a breaker change'),
    );
  }

  private autoPause(key: string, f: Failing): void {
    f.pausing = true;
    const seconds = Math.round((Date.now() - f.sinceMs) / 1000);
    pauseDestination(this.ref(key), { by: `worker ${this.opts.identity}`, reason: 'auto' })
      .then(() => {
        this.paused.add(key);
        this.opts.logger.warn(
          { destination: key, failures: f.failures, failing_seconds: seconds },
          'destination paused automatically: it has failed continuously',
        );
      })
      .catch((err: unknown) => this.opts.logger.error({ err, destination: key }, 'automatic pause failed'))
      .finally(() => {
        f.pausing = false;
      });
  }

  private count(key: string, ok: boolean, nowMs: number): void {
    let w = this.windows.get(key);
    if (!w || nowMs - w.startMs >= 2 * WINDOW_MS) {
      w = { startMs: nowMs, ok: 0, failed: 0, prevOk: 0, prevFailed: 0 };
      this.windows.set(key, w);
    } else if (nowMs - w.startMs >= WINDOW_MS) {
      Object.assign(w, { startMs: nowMs, prevOk: w.ok, prevFailed: w.failed, ok: 0, failed: 0 });
    }
    if (ok) w.ok += 1;
    else w.failed += 1;
  }

  private ref(key: string) {
    return { client: this.opts.client, taskQueue: this.opts.taskQueue, key, notify: this.opts.notify };
  }
}

/** The view of a worker process on TASK_QUEUE, with the DESTINATION_* settings. */
export function destinationPausesFromConfig(config: Config, client: Client, logger: Logger): DestinationPauses {
  return new DestinationPauses({
    client,
    taskQueue: config.TASK_QUEUE,
    logger: logger.child({ component: 'destination-pauses' }),
    identity: `${process.pid}@${hostname()}`,
    refreshMs: config.DESTINATION_PAUSE_REFRESH_MS,
    autoPauseAfterMs: config.DESTINATION_AUTO_PAUSE_AFTER_SECONDS * 1000,
    autoPauseAfterFailures: config.DESTINATION_AUTO_PAUSE_AFTER_FAILURES,
    notify: config,
  });
}
