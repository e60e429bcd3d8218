import { WorkflowNotFoundError } from '@temporalio/client';
import { JobKind, type JobTarget } from '../../domain/jobs';
import { statusQuery } from '../../domain/messages';
import { parkedStates, type TaskState } from '../../domain/status';
import type { BulkRequeueRequest } from '../schemas';
import { mapLimit, withDeadline, type ApiDeps } from './deps';
import { startJob } from './jobs';
import { countTasks, deadLetterFilter, listTasks, visibilityQuery, type TaskFilter } from './list-tasks';

/** Ids shown by a dry run. */
export const DRY_RUN_SAMPLE = 20;

export interface Skipped {
  id: string;
  reason: string;
  state?: string;
}

/**
 * POST /dead-letters/requeue: requeues parked tasks chosen by id or by filter, as a bulk job (workflows/bulk-job.ts)
 * paced at BULK_REQUEUE_PER_SECOND so a large requeue cannot flood a destination that just came back. A filter is
 * resolved through visibility by the job (eventually consistent, capped by `limit`); each task's requeue validator
 * rejects a task that is no longer parked, and the job counts it as skipped.
 *
 * `dry_run` answers at once: listed ids are checked against each workflow's own status (exact, no visibility lag),
 * a filter is counted through visibility.
 */
export async function bulkRequeue(deps: ApiDeps, req: BulkRequeueRequest) {
  if (req.dry_run) return { dryRun: await dryRunRequeue(deps, req) };
  const target: JobTarget = req.ids
    ? { type: 'ids', ids: [...new Set(req.ids)] }
    : {
        type: 'filter',
        query: visibilityQuery(deadLetterFilter(req.filter ?? {}, deps.config.TASK_QUEUE)),
        limit: req.limit,
      };
  return startJob(deps, { kind: JobKind.Requeue, target, overrides: req.overrides, reason: req.reason });
}

async function dryRunRequeue(deps: ApiDeps, req: BulkRequeueRequest) {
  if (req.ids) {
    const ids = [...new Set(req.ids)];
    const states = await mapLimit(ids, deps.config.BATCH_CONCURRENCY, (id) => parkedState(deps, id));
    const candidates: string[] = [];
    const skipped: Skipped[] = [];
    states.forEach((s, i) => {
      const id = ids[i] as string;
      if (s.parked) candidates.push(id);
      else skipped.push({ id, reason: s.reason, ...(s.state ? { state: s.state } : {}) });
    });
    return { dry_run: true, count: candidates.length, sample: candidates.slice(0, DRY_RUN_SAMPLE), skipped };
  }
  return dryRunFilter(deps, deadLetterFilter(req.filter ?? {}, deps.config.TASK_QUEUE), req.limit);
}

/** The dry-run answer of a filter: its count (capped by `limit`) and the first ids. */
export async function dryRunFilter(deps: ApiDeps, filter: TaskFilter, limit: number) {
  const [count, page] = await Promise.all([
    countTasks(deps, filter),
    listTasks(deps, filter, { page_size: Math.min(DRY_RUN_SAMPLE, limit) }),
  ]);
  return { dry_run: true, count: Math.min(count, limit), sample: page.items.map((i) => i.task_id) };
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
