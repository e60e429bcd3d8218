import { SingleBar, Presets } from 'cli-progress';

/** A progress indicator: {@link ProgressBar.tick} as work completes, {@link ProgressBar.stop} when done. */
export interface ProgressBar {
  /** Marks `n` more units done. @default 1 */
  tick(n?: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr for `total` units of work labelled `label`. On a TTY it is a cli-progress bar; otherwise
 * (CI, piped output, tests) it prints a plain line at every 25 % and at the end, so logs stay readable.
 * BENCH_QUIET=1 silences it entirely.
 */
export function progress(label: string, total: number): ProgressBar {
  if (process.env.BENCH_QUIET === '1' || total <= 0) return { tick: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: `${label.padEnd(28)} {bar} {value}/{total} {percentage}% {duration_formatted}`,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    let stopped = false;
    return {
      tick: (n = 1) => bar.increment(n),
      stop: () => {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }
  const started = Date.now();
  let done = 0;
  let nextMark = 0.25;
  let stopped = false;
  return {
    tick(n = 1) {
      done += n;
      while (done / total >= nextMark && nextMark < 1) {
        process.stderr.write(`${label}: ${done}/${total} (${Math.round(nextMark * 100)}%)\n`);
        nextMark += 0.25;
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      process.stderr.write(`${label}: ${done}/${total} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
