/**
 * How an entry point (`npm start`, `npm run worker` / `api` / `ingress` / `stack`) stops. A stop starts on the first
 * SIGINT or SIGTERM from anyone (a terminal's Ctrl-C, a supervisor signalling npm's pid, which npm relays) or when
 * the process that started this one goes away (its parent pid changes, even after a kill -9 of npm). Later signals
 * are logged and ignored, so a second Ctrl-C never cuts a stop midway; the process exits 0 when `stop` resolves,
 * 1 when it fails or takes longer than `graceMs`.
 */
export interface StopOptions {
  /** Names the process in the log lines. */
  name: string;
  /** Ordered shutdown of everything the process started. */
  stop: (reason: string) => Promise<void>;
  /** Longest a stop may take before the process exits 1 anyway, milliseconds. @default 25_000 */
  graceMs?: number;
  /** Where progress lines go. @default console.error */
  log?: (line: string) => void;
}

/** How often the parent pid is checked, milliseconds. */
const PARENT_POLL_MS = 500;

/** Installs the stop triggers; returns `stopNow`, which starts the same stop (idempotent) and resolves when done. */
export function stopOnSignals(opts: StopOptions): (reason: string) => Promise<void> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const parent = process.ppid;
  let stopping: Promise<void> | undefined;
  const stopNow = (reason: string) => {
    if (stopping) {
      // A second Ctrl-C or SIGTERM must not cut the stop short: say so and go on.
      if (reason.startsWith('SIG')) log(`[${opts.name}] ${reason} while stopping; still stopping`);
      return stopping;
    }
    log(`[${opts.name}] stopping (${reason})`);
    const force = setTimeout(() => {
      log(`[${opts.name}] stop took longer than ${opts.graceMs ?? 25_000} ms; exiting`);
      process.exit(1);
    }, opts.graceMs ?? 25_000);
    force.unref();
    stopping = opts.stop(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        log(`[${opts.name}] stop failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
    return stopping;
  };
  process.on('SIGINT', () => void stopNow('SIGINT'));
  process.on('SIGTERM', () => void stopNow('SIGTERM'));
  // A parent that dies (kill -9 of npm or of a supervisor's wrapper) reparents us: stop as for SIGTERM.
  const watchdog = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(watchdog);
      void stopNow(`parent ${parent} exited`);
    }
  }, PARENT_POLL_MS);
  watchdog.unref();
  return stopNow;
}

/** What {@link runService} runs: start-up, the ordered stop, and optionally the service's own end. */
export interface ServiceOptions<T> extends Omit<StopOptions, 'stop'> {
  start: () => Promise<T>;
  stop: (service: T, reason: string) => Promise<void>;
  /** Settles when the service ends by itself (a worker's fatal error): the process then stops as for a signal. */
  ended?: (service: T) => Promise<unknown>;
  /**
   * Stops what a failed start-up had already started (a start-up that brings up several parts in turn). The process
   * exits 1 once it has settled, also when a signal arrived during the start-up.
   */
  startFailed?: (err: unknown) => Promise<void>;
}

/**
 * An entry point's whole life: the stop triggers are installed BEFORE start-up, so a signal that arrives while the
 * service is still connecting waits for start-up to finish and then stops what it started (exit 0), instead of
 * killing the process half started. A failed start-up prints its reason, runs `startFailed` and exits 1.
 */
export function runService<T>(opts: ServiceOptions<T>): void {
  let endedWithError = false;
  const stopNow = stopOnSignals({
    ...opts,
    stop: async (reason) => {
      // `started` is set in the same turn as the triggers, before any signal can be handled. It rejects only after
      // `startFailed` has cleaned up, so a stop requested during a failing start-up never exits before that.
      const service = await started;
      await opts.stop(service, reason);
      if (endedWithError) throw new Error('the service ended with an error');
    },
  });
  const started = opts.start().catch(async (err: unknown) => {
    console.error(`[${opts.name}] start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    await opts.startFailed?.(err).catch((cleanupErr: unknown) => console.error(cleanupErr));
    throw err;
  });
  started.then(
    (service) => {
      opts.ended?.(service).then(
        () => void stopNow(`${opts.name} ended`),
        (err: unknown) => {
          endedWithError = true;
          console.error(err);
          void stopNow(`${opts.name} failed`);
        },
      );
    },
    () => process.exit(1),
  );
}
