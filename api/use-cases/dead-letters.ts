import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { statusQuery } from '../../domain/messages';
import { parkedStates, type TaskState } from '../../domain/status';
import { ApiError } from '../errors';
import type { BulkRequeueRequest } from '../schemas';
import { mapLimit, withDeadline, type ApiDeps } from './deps';
import { collectTaskIds, countTasks, deadLetterFilter, type TaskFilter } from './list-tasks';
import { transitionTask } from './transition-task';

/** Consecutive tasks that could not be reached before a bulk requeue gives up as a whole (503). */
const MAX_UNAVAILABLE_IN_A_ROW = 3;

export interface Skipped {
  id: string;
  reason: string;
  state?: string;
}

/**
 * POST /dead-letters/requeue: requeues parked tasks chosen by id or by filter. `dry_run` only counts. Requeues are
 * paced at BULK_REQUEUE_PER_SECOND so a large requeue cannot flood a destination that just came back.
 *
 * Ids are checked against each workflow's own status (exact, no visibility lag); a filter is resolved through
 * visibility (eventually consistent, capped by `limit`), and the workflow's requeue validator still rejects any task
 * that is no longer parked.
 */
export async function bulkRequeue(deps: ApiDeps, req: BulkRequeueRequest) {
  const skipped: Skipped[] = [];
  let candidates: string[];
  if (req.ids) {
    const ids = [...new Set(req.ids)];
    const states = await mapLimit(ids, deps.config.BATCH_CONCURRENCY, (id) => parkedState(deps, id));
    candidates = [];
    states.forEach((s, i) => {
      const id = ids[i] as string;
      if (s.parked) candidates.push(id);
      else skipped.push({ id, reason: s.reason, ...(s.state ? { state: s.state } : {}) });
    });
    if (req.dry_run) return { dry_run: true, count: candidates.length, skipped };
  } else {
    const filter: TaskFilter = deadLetterFilter(req.filter ?? {}, deps.config.TASK_QUEUE);
    if (req.dry_run) return { dry_run: true, count: Math.min(await countTasks(deps, filter), req.limit) };
    candidates = await collectTaskIds(deps, filter, req.limit);
  }

  // A paced sequential loop rather than a cockatiel policy: what is needed is a rate (N starts per second), not retry
  // or circuit breaking, and a loop that waits for its next slot is exact, easy to read and holds no timers.
  const intervalMs = 1000 / deps.config.BULK_REQUEUE_PER_SECOND;
  const started = Date.now();
  let count = 0;
  let unavailableInARow = 0;
  for (const [i, id] of candidates.entries()) {
    const wait = started + i * intervalMs - Date.now();
    if (wait > 0) await sleep(wait);
    try {
      await transitionTask(deps, id, {
        kind: 'requeue',
        overrides: req.overrides,
        reason: req.reason ?? 'bulk requeue',
      });
      count++;
      unavailableInARow = 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // One task whose workflow cannot answer now (no worker polls its queue, an update timed out) is reported and
      // skipped; several in a row mean Temporal itself is unavailable, and the request fails as a whole.
      if (err.status >= 500 && ++unavailableInARow >= MAX_UNAVAILABLE_IN_A_ROW) throw err;
      const state = err.body.state;
      const reason = err.status >= 500 ? `not requeued now, try again: ${err.message}` : err.message;
      skipped.push({ id, reason, ...(typeof state === 'string' ? { state } : {}) });
    }
  }
  deps.logger.info({ count, skipped: skipped.length }, 'bulk requeue done');
  return { dry_run: false, count, skipped };
}

async function parkedState(
  deps: ApiDeps,
  id: string,
): Promise<{ parked: true } | { parked: false; reason: string; state?: TaskState }> {
  try {
    const desc = await withDeadline(deps, () => deps.client.workflow.getHandle(id).describe());
    if (desc.status.name !== 'RUNNING')
      return { parked: false, reason: `task is closed (${desc.status.name.toLowerCase()})` };
    const status = await withDeadline(deps, () => deps.client.workflow.getHandle(id, desc.runId).query(statusQuery));
    if (parkedStates.includes(status.state)) return { parked: true };
    return { parked: false, reason: 'task is not dead-lettered', state: status.state };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { parked: false, reason: 'task not found' };
    throw err;
  }
}
