import { Router } from 'express';
import { BulkRequeueRequest, ListDeadLettersQuery } from '../schemas';
import { parseOrThrow, type ApiDeps } from '../use-cases/deps';
import { bulkRequeue } from '../use-cases/dead-letters';
import { deadLetterFilter, listTasks } from '../use-cases/list-tasks';
import { answerBulk } from './jobs';

/** Thin routes for /dead-letters: parked tasks (dead_lettered, dead_letter_failed) that can still be requeued. */
export function deadLettersRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/dead-letters', async (req, res) => {
    const q = parseOrThrow(ListDeadLettersQuery, req.query);
    res.json(await listTasks(deps, deadLetterFilter(q, deps.config.TASK_QUEUE), q));
  });

  router.post('/dead-letters/requeue', async (req, res) => {
    const body = parseOrThrow(BulkRequeueRequest, req.body ?? {});
    answerBulk(req, res, await bulkRequeue(deps, body));
  });

  return router;
}
