import { Router, type Request } from 'express';
import { DestinationKey, PauseDestinationRequest, ResumeDestinationRequest } from '../destination-schemas';
import { parseOrThrow, type ApiDeps } from '../use-cases/deps';
import * as destinations from '../use-cases/destinations';

/** Thin routes for destination pause and resume: GET /destinations, POST /destinations/{key}/pause, …/resume. */
export function destinationsRouter(deps: ApiDeps): Router {
  const router = Router();
  const key = (req: Request) => parseOrThrow(DestinationKey, String(req.params.key), 'key');

  router.get('/destinations', async (_req, res) => {
    res.json(await destinations.list(deps));
  });

  router.post('/destinations/:key/pause', async (req, res) => {
    const k = key(req);
    res.json(await destinations.pause(deps, k, parseOrThrow(PauseDestinationRequest, req.body ?? {})));
  });

  router.post('/destinations/:key/resume', async (req, res) => {
    const k = key(req);
    res.json(await destinations.resume(deps, k, parseOrThrow(ResumeDestinationRequest, req.body ?? {})));
  });

  return router;
}
