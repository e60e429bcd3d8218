import { WorkflowNotFoundError } from '@temporalio/client';
import { JobKind, type JobTarget } from '../../domain/jobs';
import { finalStates, allTaskStates } from '../../domain/status';
import type { BulkCancelRequest } from '../job-schemas';
import { mapLimit, withDeadline, type ApiDeps } from './deps';
import { DRY_RUN_SAMPLE, dryRunFilter, type Skipped } from './dead-letters';
import { startJob } from './jobs';
import { visibilityQuery, type TaskFilter } from './list-tasks';

/** The open tasks of this service's task queue that a cancel filter selects (every open state unless narrowed). */
function cancelFilter(req: BulkCancelRequest, taskQueue: string): TaskFilter {
  const f = req.filter ?? {};
  const open = allTaskStates.filter((s) => !finalStates.includes(s));
  return { ...f, status: f.status?.length ? f.status : open, openOnly: true, taskQueue };
}

/**
 * POST /tasks/cancel: cancels open tasks chosen by id or by filter, as a bulk job paced like a bulk requeue. Each
 * task's cancel validator refuses a task that is already over; the job counts it as skipped. `dry_run` answers at
 * once: listed ids are checked by describing each workflow, a filter is counted through visibility.
 */
export async function bulkCancel(deps: ApiDeps, req: BulkCancelRequest) {
  if (req.dry_run) {
    if (!req.ids) return { dryRun: await dryRunFilter(deps, cancelFilter(req, deps.config.TASK_QUEUE), req.limit) };
    const ids = [...new Set(req.ids)];
    const open = await mapLimit(ids, deps.config.BATCH_CONCURRENCY, (id) => isOpen(deps, id));
    const candidates = ids.filter((_, i) => open[i] === true);
    const skipped: Skipped[] = ids.flatMap((id, i) => (open[i] === true ? [] : [{ id, reason: open[i] as string }]));
    return {
      dryRun: { dry_run: true, count: candidates.length, sample: candidates.slice(0, DRY_RUN_SAMPLE), skipped },
    };
  }
  const target: JobTarget = req.ids
    ? { type: 'ids', ids: [...new Set(req.ids)] }
    : { type: 'filter', query: visibilityQuery(cancelFilter(req, deps.config.TASK_QUEUE)), limit: req.limit };
  return startJob(deps, { kind: JobKind.Cancel, target, reason: req.reason });
}

/** True when the task's workflow runs; otherwise why it would be skipped. */
async function isOpen(deps: ApiDeps, id: string): Promise<true | string> {
  try {
    const desc = await withDeadline(deps, () => deps.client.workflow.getHandle(id).describe());
    return desc.status.name === 'RUNNING' ? true : `task is closed (${desc.status.name.toLowerCase()})`;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'task not found';
    throw err;
  }
}
