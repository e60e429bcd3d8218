import { Router, type Request, type Response } from 'express';
import { BulkCancelRequest, JobId, ListJobsQuery } from '../job-schemas';
import { ReasonRequest } from '../schemas';
import { bulkCancel } from '../use-cases/bulk-cancel';
import { parseOrThrow, type ApiDeps } from '../use-cases/deps';
import { cancelJob, getJob, listJobs } from '../use-cases/jobs';

/** Absolute URL of a job's status, from the request's own host. */
function jobUrl(req: Request, jobId: string): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}/jobs/${encodeURIComponent(jobId)}`;
}

/** The answer of a bulk request: 200 with the dry run's count, or 202 with the job that does the work. */
export function answerBulk(req: Request, res: Response, result: { dryRun: unknown } | { jobId: string }): void {
  if ('dryRun' in result) {
    res.json(result.dryRun);
    return;
  }
  const status_url = jobUrl(req, result.jobId);
  res
    .status(202)
    .location(`/jobs/${encodeURIComponent(result.jobId)}`)
    .json({ job_id: result.jobId, status_url });
}

/** Thin routes for bulk jobs: POST /tasks/cancel, GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel. */
export function jobsRouter(deps: ApiDeps): Router {
  const router = Router();
  const jobId = (req: Request) => parseOrThrow(JobId, String(req.params.id), 'id');

  router.post('/tasks/cancel', async (req, res) => {
    answerBulk(req, res, await bulkCancel(deps, parseOrThrow(BulkCancelRequest, req.body ?? {})));
  });

  router.get('/jobs', async (req, res) => {
    res.json(await listJobs(deps, parseOrThrow(ListJobsQuery, req.query)));
  });

  router.get('/jobs/:id', async (req, res) => {
    res.json(await getJob(deps, jobId(req)));
  });

  router.post('/jobs/:id/cancel', async (req, res) => {
    const { reason } = parseOrThrow(ReasonRequest, req.body ?? {});
    res.json(await cancelJob(deps, jobId(req), reason));
  });

  return router;
}
