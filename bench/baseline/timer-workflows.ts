import { proxyActivities, sleep } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

/**
 * The raw-engine comparison of the timer and scale benchmarks: a durable timer, then one no-op activity. Bundled on
 * its own (bench/scenarios/timer.ts), so only @temporalio/workflow and a type-only import of the activities.
 */

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });

/**
 * Sleeps until `dueMs` (epoch milliseconds, compared with workflow time), then runs `noop(id)`, whose recorder
 * timestamps the activity's start: the engine's own timer lateness, without our workflow's logic or an HTTP hop.
 * A due time days away parks the workflow, as a long delay tier parks ours.
 */
export async function sleepThenNoop(id: string, dueMs: number): Promise<void> {
  const waitMs = dueMs - Date.now();
  if (waitMs > 0) await sleep(waitMs);
  await noop(id);
}
