import { Router, type Request } from 'express';
import { AckRequest, NackRequest } from '../schemas';
import { parseOrThrow, type ApiDeps } from '../use-cases/deps';
import { answerDelivery } from '../use-cases/receiver-ack';

const taskId = (req: Request) => String(req.params.id);

/**
 * The receiver's ack and nack (the X-Ack-Url and X-Nack-Url of a delivery). The token is their credential: they are
 * open even when API_KEYS is set (api/middleware.ts).
 */
export function receiverAckRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/tasks/:id/ack', async (req, res) => {
    const { token } = parseOrThrow(AckRequest, req.body ?? {});
    const result = await answerDelivery(deps, taskId(req), token, { outcome: 'ack' });
    res.json({ message: `Task ${taskId(req)}: delivery acknowledged`, task_id: taskId(req), ...result });
  });

  router.post('/tasks/:id/nack', async (req, res) => {
    const { token, reason, retryable } = parseOrThrow(NackRequest, req.body ?? {});
    const result = await answerDelivery(deps, taskId(req), token, { outcome: 'nack', reason, retryable });
    res.json({ message: `Task ${taskId(req)}: delivery failed by the receiver`, task_id: taskId(req), ...result });
  });

  return router;
}
