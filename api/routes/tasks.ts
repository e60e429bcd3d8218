import { Router, type Request } from 'express';
import { RequeueOverrides } from '../../domain/task';
import { ListTasksQuery, ReasonRequest, RequeueRequest } from '../schemas';
import { parseOrThrow, type ApiDeps } from '../use-cases/deps';
import { submitBatch } from '../use-cases/batch';
import { getTaskStatus } from '../use-cases/get-task';
import { listTasks } from '../use-cases/list-tasks';
import { submitTask, validateTask } from '../use-cases/submit-task';
import { terminateTask, transitionTask } from '../use-cases/transition-task';
import type { RequestHandler } from 'express';

/** Absolute URL of a task's status, from the request's own host. */
export function statusUrl(req: Request, taskId: string): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}/tasks/${encodeURIComponent(taskId)}`;
}

/** The task id from the path (Express decodes it). */
const taskId = (req: Request) => String(req.params.id);

/** Thin routes for /tasks: parse, call the use case, shape the answer. */
export function tasksRouter(deps: ApiDeps, limits: { submit: RequestHandler }): Router {
  const router = Router();

  router.post('/tasks', limits.submit, async (req, res) => {
    const task = await validateTask(deps, req.body);
    const started = await submitTask(deps, task);
    res
      .status(201)
      .location(`/tasks/${encodeURIComponent(task.id)}`)
      .json({
        message: `Task ${task.id} scheduled successfully`,
        task_id: started.taskId,
        run_id: started.runId,
        status_url: statusUrl(req, task.id),
      });
  });

  router.post('/tasks/batch', limits.submit, async (req, res) => {
    res.status(200).json(await submitBatch(deps, req.body));
  });

  router.get('/tasks', async (req, res) => {
    const q = parseOrThrow(ListTasksQuery, req.query);
    res.json(await listTasks(deps, q, q));
  });

  router.get('/tasks/:id', async (req, res) => {
    res.json(await getTaskStatus(deps, taskId(req)));
  });

  router.post('/tasks/:id/cancel', async (req, res) => {
    const { reason } = parseOrThrow(ReasonRequest, req.body ?? {});
    const result = await transitionTask(deps, taskId(req), { kind: 'cancel', reason });
    res.json({ message: `Task ${taskId(req)} cancelled`, task_id: taskId(req), ...result });
  });

  router.post('/tasks/:id/requeue', async (req, res) => {
    const body = parseOrThrow(RequeueRequest, req.body ?? {});
    // Validate the overrides here too, so a bad field answers 400 naming it instead of the workflow's 409.
    const overrides = body.overrides ? parseOrThrow(RequeueOverrides, body.overrides, 'overrides') : undefined;
    const result = await transitionTask(deps, taskId(req), { kind: 'requeue', overrides, reason: body.reason });
    res.json({ message: `Task ${taskId(req)} requeued`, task_id: taskId(req), ...result });
  });

  router.post('/tasks/:id/retry-now', async (req, res) => {
    const result = await transitionTask(deps, taskId(req), { kind: 'retry_now' });
    res.json({ message: `Task ${taskId(req)} will be retried now`, task_id: taskId(req), ...result });
  });

  router.delete('/tasks/:id', async (req, res) => {
    const { reason } = parseOrThrow(ReasonRequest, req.body ?? {});
    const { runId } = await terminateTask(deps, taskId(req), reason);
    res.json({
      message: `Task ${taskId(req)} terminated`,
      task_id: taskId(req),
      run_id: runId,
      details: 'the workflow was terminated: no further attempts and no dead-letter delivery',
    });
  });

  return router;
}
