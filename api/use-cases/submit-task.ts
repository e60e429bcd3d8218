import type { EnqueueSlot } from '../../client/key-enqueuer';
import { createSubmitter, TargetRefusedError, type Submitter } from '../../client/submit';
import { TaskAlreadyExistsError, taskHandle, type StartedTask } from '../../client/tasks';
import { TaskInput, type Task } from '../../domain/task';
import { readLiveStatus } from '../../client/series-progress';
import type { TaskStatus } from '../../domain/status';
import { ConflictError, ValidationError } from '../errors';
import { parseOrThrow, withDeadline, type ApiDeps } from './deps';
import { checkAckConfigured } from './receiver-ack';

/** The submitter per config object (its SSRF allow-list is compiled once, not per request). */
const submitters = new WeakMap<ApiDeps, Submitter>();
function submitter(deps: ApiDeps): Submitter {
  let s = submitters.get(deps);
  if (!s) {
    s = createSubmitter({
      client: deps.client,
      taskQueue: deps.config.TASK_QUEUE,
      releaseLeadMs: deps.config.RELEASE_LEAD_SECONDS * 1000,
      logger: deps.logger,
      metrics: deps.metrics,
      ssrfAllow: deps.config.SSRF_ALLOW,
    });
    submitters.set(deps, s);
  }
  return s;
}

/** The places and start order of a batch's tasks; see {@link Submitter.planStarts}. */
export function planStarts(deps: ApiDeps, tasks: readonly Task[]) {
  return submitter(deps).planStarts(tasks);
}

/**
 * Validates a POST /tasks body (seed 002's body as written, plus our optional extensions) into a Task, and refuses
 * HTTP destinations the SSRF guard would refuse at delivery (private, loopback, metadata addresses unless SSRF_ALLOW
 * opens them). `prefix` names the item inside a batch.
 */
export async function validateTask(deps: ApiDeps, body: unknown, prefix = ''): Promise<Task> {
  if (body === undefined || body === null) throw new ValidationError('a JSON body is required', prefix || '(body)');
  const task = parseOrThrow(TaskInput, body, prefix);
  checkAckConfigured(deps, task, prefix);
  try {
    await submitter(deps).checkTargets(task);
  } catch (err) {
    if (err instanceof TargetRefusedError) {
      throw new ValidationError(err.reason, prefix ? `${prefix}.${err.field}` : err.field);
    }
    throw err;
  }
  return task;
}

/**
 * Starts the validated task's workflow (workflow id = task id). An id whose workflow is open (running or parked)
 * answers 409 with its current status; an id whose workflow closed starts a new run (reuse policy ALLOW_DUPLICATE).
 */
export async function submitTask(
  deps: ApiDeps,
  task: Task,
  via: 'api' | 'batch' = 'api',
  enqueueSlot?: EnqueueSlot,
): Promise<StartedTask> {
  try {
    return await submitter(deps).start(task, via, { around: (start) => withDeadline(deps, start), enqueueSlot });
  } catch (err) {
    if (err instanceof TaskAlreadyExistsError) throw await alreadyExists(deps, task.id);
    throw err;
  }
}

/** The 409 for an id that is open, with the task's current status when the workflow answers. */
async function alreadyExists(deps: ApiDeps, taskId: string): Promise<ConflictError> {
  let status: TaskStatus | undefined;
  try {
    status = await withDeadline(deps, () => readLiveStatus(taskHandle(deps.client, taskId)));
  } catch (err) {
    deps.logger.warn({ err, task_id: taskId }, 'status query of an existing task failed');
  }
  return new ConflictError(`task ${taskId} already exists and is still open`, {
    field: 'id',
    task_id: taskId,
    ...(status ? { state: status.state, status } : {}),
  });
}
