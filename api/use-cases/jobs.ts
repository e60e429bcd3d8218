import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { ApplicationFailure } from '@temporalio/common';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  JobBatchActivityType,
  JobMemoKey,
  JobState,
  JobWorkflowType,
  addTally,
  cancelJobUpdate,
  emptyTally,
  jobProgressQuery,
  startingProgress,
  withRate,
  type JobBatchCheckpoint,
  type JobProgress,
  type JobSpec,
} from '../../domain/jobs';
import type { bulkJob } from '../../workflows';
import { ConflictError, JobNotFoundError, JobProgressUnavailableError, isTemporalUnavailable } from '../errors';
import type { JobPage, JobResponse, JobSummary } from '../job-schemas';
import { withDeadline, type ApiDeps } from './deps';
import { decodePageToken, encodePageToken } from './list-tasks';

/** What a bulk request asks the job to do (the rest of the spec comes from config). */
export type JobRequest = Pick<JobSpec, 'kind' | 'target' | 'overrides' | 'reason'>;

/**
 * Starts a bulk job workflow on TASK_QUEUE, paced at BULK_REQUEUE_PER_SECOND, in batches of about five seconds'
 * worth of tasks (at most 100), so a cancel takes effect within seconds and each batch's retry after a crash is short.
 */
export async function startJob(deps: ApiDeps, req: JobRequest): Promise<{ jobId: string }> {
  const perSecond = deps.config.BULK_REQUEUE_PER_SECOND;
  const spec: JobSpec = {
    ...req,
    task_queue: deps.config.TASK_QUEUE,
    per_second: perSecond,
    batch_size: Math.max(1, Math.min(100, perSecond * 5)),
  };
  const jobId = `job-${randomUUID()}`;
  const startedAt = new Date().toISOString();
  const what = spec.target.type === 'ids' ? `${spec.target.ids.length} listed tasks` : 'tasks matching a filter';
  await withDeadline(deps, () =>
    deps.client.workflow.start<typeof bulkJob>(JobWorkflowType, {
      taskQueue: deps.config.TASK_QUEUE,
      workflowId: jobId,
      args: [{ spec }],
      memo: { [JobMemoKey]: startingProgress(jobId, spec.kind, startedAt) },
      staticSummary: `bulk ${spec.kind} of ${what}`,
    }),
  );
  deps.logger.info({ job_id: jobId, kind: spec.kind, target: spec.target.type }, 'bulk job started');
  return { jobId };
}

/**
 * GET /jobs/{id} from the job's description alone (no worker needed): while it runs, the progress its memo holds
 * after the last batch plus the running batch's heartbeat; once completed, its result. Temporal down answers 503.
 */
export async function getJob(deps: ApiDeps, jobId: string): Promise<JobResponse> {
  const handle = deps.client.workflow.getHandle(jobId);
  const desc = await describeJob(deps, jobId);
  const memo = desc.memo?.[JobMemoKey] as Partial<JobProgress> | undefined;
  switch (desc.status.name) {
    case 'RUNNING':
      if (isProgress(memo)) return liveProgress(memo, desc.raw.pendingActivities);
      return legacyProgress(deps, jobId);
    case 'COMPLETED':
      return (await withDeadline(deps, () => handle.result())) as JobProgress;
    default: {
      // Terminated, timed out or failed: the job's last recorded progress (or its start memo) is what remains.
      return {
        ...emptyTally(),
        job_id: jobId,
        kind: memo?.kind ?? 'requeue',
        total: 0,
        rate: 0,
        ...memo,
        state: JobState.Failed,
        started_at: memo?.started_at ?? desc.startTime.toISOString(),
        finished_at: desc.closeTime?.toISOString(),
        error: `job workflow ${desc.status.name.toLowerCase()}`,
      };
    }
  }
}

/** True for a memo that holds the job's progress (jobs started before progress memos hold only kind and start). */
function isProgress(memo: Partial<JobProgress> | undefined): memo is JobProgress {
  return typeof memo?.done === 'number' && typeof memo.total === 'number';
}

interface PendingActivity {
  activityType?: { name?: string | null } | null;
  heartbeatDetails?: { payloads?: Payload[] | null } | null;
}

/** The memo's progress (as of the last batch) plus the running batch's tally from its last heartbeat. */
function liveProgress(memo: JobProgress, pending: readonly PendingActivity[] | null | undefined): JobProgress {
  const batch = (pending ?? []).find((a) => a.activityType?.name === JobBatchActivityType);
  const payload = batch?.heartbeatDetails?.payloads?.[0];
  const checkpoint = payload ? defaultPayloadConverter.fromPayload<JobBatchCheckpoint>(payload) : undefined;
  const progress = checkpoint ? { ...memo, ...addTally(memo, checkpoint.tally) } : memo;
  return withRate(progress, Date.now());
}

/** A job started before progress memos: only its workflow knows its progress (a query, so a worker must answer). */
async function legacyProgress(deps: ApiDeps, jobId: string): Promise<JobProgress> {
  try {
    return await withDeadline(deps, () => deps.client.workflow.getHandle(jobId).query(jobProgressQuery));
  } catch (err) {
    if (isTemporalUnavailable(err)) throw err;
    throw new JobProgressUnavailableError(jobId);
  }
}

/** POST /jobs/{id}/cancel: stops the job after its current batch; 409 once it is over. */
export async function cancelJob(deps: ApiDeps, jobId: string, reason?: string): Promise<JobResponse> {
  const desc = await describeJob(deps, jobId);
  if (desc.status.name !== 'RUNNING') throw new ConflictError(`job ${jobId} is over and cannot be cancelled`);
  try {
    const progress = await withDeadline(deps, () =>
      deps.client.workflow.getHandle(jobId).executeUpdate(cancelJobUpdate, { args: [{ reason }] }),
    );
    deps.logger.info({ job_id: jobId, reason }, 'bulk job cancel requested');
    return progress;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new ConflictError(err.cause.message);
    }
    if (err instanceof WorkflowNotFoundError) throw new ConflictError(`job ${jobId} is over and cannot be cancelled`);
    throw err;
  }
}

/** GET /jobs: this service's jobs, newest first (visibility; a finished job shows its final counts). */
export async function listJobs(deps: ApiDeps, page: { page_size: number; page_token?: string }): Promise<JobPage> {
  const query = `WorkflowType = "${JobWorkflowType}" AND TaskQueue = "${deps.config.TASK_QUEUE.replace(/["\\]/g, '')}"`;
  const response = await withDeadline(deps, () =>
    deps.client.workflowService.listWorkflowExecutions({
      namespace: deps.namespace,
      query,
      pageSize: page.page_size,
      nextPageToken: decodePageToken(query, page.page_token),
    }),
  );
  const converter = deps.client.workflow.options.loadedDataConverter;
  const items = await Promise.all(
    (response.executions ?? []).map(async (raw): Promise<JobSummary> => {
      const info = await executionInfoFromRaw(raw, converter, raw, deps.namespace);
      const memo = info.memo?.[JobMemoKey] as Partial<JobProgress> | undefined;
      const started_at = memo?.started_at ?? info.startTime.toISOString();
      if (info.status.name === 'RUNNING') {
        // The progress as of the job's last batch (jobs started before progress memos show no counts).
        if (isProgress(memo)) return { ...withRate(memo, Date.now()), job_id: info.workflowId };
        return { job_id: info.workflowId, kind: memo?.kind, state: JobState.Running, started_at };
      }
      if (info.status.name === 'COMPLETED' && isProgress(memo)) return { ...memo, job_id: info.workflowId };
      return { job_id: info.workflowId, kind: memo?.kind, state: JobState.Failed, started_at };
    }),
  );
  const token = response.nextPageToken?.length ? encodePageToken(query, response.nextPageToken) : null;
  return { items, next_page_token: token };
}

async function describeJob(deps: ApiDeps, jobId: string) {
  try {
    const desc = await withDeadline(deps, () => deps.client.workflow.getHandle(jobId).describe());
    if (desc.type !== JobWorkflowType) throw new JobNotFoundError(jobId);
    return desc;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    throw err;
  }
}
