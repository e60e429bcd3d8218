import { startTask, TaskAlreadyExistsError, taskHandle } from '../../client/tasks';
import { TaskInput, type Task } from '../../domain/task';
import { checkUrlAllowed, compileAllowList, type SsrfPolicy } from '../../destinations/ssrf-guard';
import { readLiveStatus } from '../../client/series-progress';
import type { TaskStatus } from '../../domain/status';
import { ConflictError, ValidationError } from '../errors';
import { parseOrThrow, withDeadline, type ApiDeps } from './deps';

/** The compiled SSRF allow-list per config object (compiled once, not per request). */
const policies = new WeakMap<ApiDeps['config'], SsrfPolicy>();
function ssrfPolicy(deps: ApiDeps): SsrfPolicy {
  let policy = policies.get(deps.config);
  if (!policy) {
    policy = compileAllowList(deps.config.SSRF_ALLOW);
    policies.set(deps.config, policy);
  }
  return policy;
}

/**
 * Validates a POST /tasks body (seed 002's body as written, plus our optional extensions) into a Task, and refuses
 * HTTP destinations the SSRF guard would refuse at delivery (private, loopback, metadata addresses unless SSRF_ALLOW
 * opens them). `prefix` names the item inside a batch.
 */
export async function validateTask(deps: ApiDeps, body: unknown, prefix = ''): Promise<Task> {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (body === undefined || body === null) throw new ValidationError('a JSON body is required', prefix || '(body)');
  const task = parseOrThrow(TaskInput, body, prefix);
  const urls: [string, string][] = [];
  if ('url' in task.destination) urls.push(['destination.url', task.destination.url]);
  if (task.dead_destination && 'url' in task.dead_destination) {
    urls.push(['dead_destination.url', task.dead_destination.url]);
  }
  for (const [field, url] of urls) {
    const refused = await checkUrlAllowed(url, ssrfPolicy(deps));
    if (refused) throw new ValidationError(refused, at(field));
  }
  return task;
}

export interface SubmittedTask {
  taskId: string;
  runId: string;
}

/**
 * Starts the task's workflow (workflow id = task id). An id whose workflow is open (running or parked) answers 409
 * with its current status; an id whose workflow closed starts a new run (reuse policy ALLOW_DUPLICATE).
 */
export async function submitTask(deps: ApiDeps, task: Task, via: 'api' | 'batch' = 'api'): Promise<SubmittedTask> {
  try {
    const started = await withDeadline(deps, () =>
      startTask(deps.client, deps.config.TASK_QUEUE, task, { releaseLeadMs: deps.config.RELEASE_LEAD_SECONDS * 1000 }),
    );
    deps.metrics.tasksSubmitted.inc({
      destination_type: task.destination_type,
      priority: String(task.is_priority),
      via,
    });
    deps.logger.info({ task_id: task.id, run_id: started.runId, via }, 'task scheduled');
    return started;
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
