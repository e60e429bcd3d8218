import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

/**
 * Comparison workflows for the benchmarks, on the same server and worker settings as ours.
 * Only @temporalio/workflow and a type-only import of the activities: this file is bundled like workflows/.
 */

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });
const { failingNoop } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

/** The raw-engine ceiling of workflow-per-task: start → one no-op activity → complete. */
export async function rawEngine(id: string): Promise<void> {
  await noop(id);
}

/** Input of {@link naiveRetry}. */
export interface NaiveRetryInput {
  id: string;
  /** Attempts that fail before one succeeds. */
  failFirst: number;
  /** Wait before attempt k: baseDelayMs · 2^(k−1), milliseconds (before attempt 1 too, as ours). */
  baseDelayMs: number;
  /** Cap on any wait, milliseconds. */
  maxDelayMs: number;
  /** Attempts before giving up. */
  maxAttempts: number;
}

/**
 * The naive retry loop: `sleep(backoff)` then the activity with `maximumAttempts: 1`, again until it succeeds. Each
 * cycle costs a timer (started, fired), an activity (scheduled, started, failed) and two workflow tasks
 * (scheduled, started, completed): about 11 history events per retry.
 */
export async function naiveRetry(input: NaiveRetryInput): Promise<number> {
  for (let attempt = 1; attempt <= input.maxAttempts; attempt++) {
    await sleep(Math.min(input.baseDelayMs * 2 ** (attempt - 1), input.maxDelayMs));
    try {
      await failingNoop(input.id, attempt, input.failFirst);
      return attempt;
    } catch (err) {
      if (attempt === input.maxAttempts) throw err;
    }
  }
  throw ApplicationFailure.nonRetryable('no attempts allowed');
}
