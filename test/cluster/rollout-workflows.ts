import { patched } from '@temporalio/workflow';
import type { TaskStatus } from '../../domain/status';
import { retryTask as releasedRetryTask, type RetryTaskInput } from '../../workflows/retry-task';

export { bulkJob, orderingKey } from '../../workflows';

/** The patch id of the change below, as its marker appears in a history. */
export const rolloutPatch = 'cluster-test-rollout';
/** The header every delivery of a task that took the patched path carries. */
export const rolloutHeader = 'x-rollout';

/**
 * The released workflows with one replay-safe change, as a next release would ship it: a task started on this code
 * sends `x-rollout: patched` with each delivery; a task started before keeps its recorded path (patched() is false
 * while it replays its start), so restarting workers onto this bundle never fails a running task.
 */
export async function retryTask(input: RetryTaskInput): Promise<TaskStatus> {
  if (!patched(rolloutPatch)) return releasedRetryTask(input);
  const headers = { ...input.task.headers, [rolloutHeader]: 'patched' };
  return releasedRetryTask({ ...input, task: { ...input.task, headers } });
}
