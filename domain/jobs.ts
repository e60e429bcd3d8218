import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RequeueOverrides } from './task';

/**
 * Bulk jobs: a requeue of dead letters or a cancel of tasks, run as one `bulkJob` workflow (workflows/bulk-job.ts)
 * whose activities list the tasks and act on them in paced batches (activities/jobs.ts). Shared by the API, the CLI,
 * the workflow and the activities.
 */
export const JobWorkflowType = 'bulkJob';

/** Where a job is. `running` until its last batch; `cancelled` after POST /jobs/{id}/cancel. */
export const JobState = {
  Running: 'running',
  Completed: 'completed',
  Cancelled: 'cancelled',
  Failed: 'failed',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export const JobKind = { Requeue: 'requeue', Cancel: 'cancel' } as const;
export type JobKind = (typeof JobKind)[keyof typeof JobKind];

/** Which tasks a job touches: listed ids, or the visibility query the API built from a validated filter. */
export type JobTarget =
  | { type: 'ids'; ids: string[] }
  | {
      type: 'filter';
      /** Temporal visibility query of the tasks (running executions only). */
      query: string;
      /** Most tasks the job touches. */
      limit: number;
    };

/** What a job does; fixed at start. */
export interface JobSpec {
  kind: JobKind;
  target: JobTarget;
  /** Task queue whose tasks the job may touch (the service's TASK_QUEUE). */
  task_queue: string;
  /** Tasks acted on per second at most. */
  per_second: number;
  /** Tasks per activity batch. */
  batch_size: number;
  overrides?: RequeueOverrides;
  reason?: string;
}

/** Where the next batch starts: an index into `ids`, or Temporal's visibility page token (base64). */
export type JobCursor = { index: number } | { page_token?: string };

/** Skipped and failed tasks: counts by reason, and the first ids as a sample. */
export interface JobTally {
  done: number;
  skipped: number;
  failed: number;
  skipped_reasons: Record<string, number>;
  /** The first skipped and failed tasks (at most {@link JOB_SAMPLE} each). */
  skipped_sample: { id: string; reason: string }[];
  failed_sample: { id: string; error: string }[];
}

/** What one batch activity is asked to do. */
export interface JobBatchRequest {
  job_id: string;
  spec: JobSpec;
  cursor: JobCursor;
  /** When the job started: a filter only lists task runs started before it (a task the job requeued runs anew). */
  started_at: string;
  /** Tasks the job may still handle (a filter's limit less what earlier batches handled). */
  remaining: number;
}

/** What one batch activity reports back. */
export interface JobBatchResult extends JobTally {
  /** Tasks the batch handled (done + skipped + failed). */
  handled: number;
  /** Where the next batch starts; null when there is nothing more. */
  next: JobCursor | null;
}

/** The job's progress: the `jobProgress` query answer, the workflow's result and its memo at the end. */
export interface JobProgress extends JobTally {
  job_id: string;
  kind: JobKind;
  state: JobState;
  /** Tasks the job expects to touch (ids given, or the filter's count when the job started, capped by its limit). */
  total: number;
  /** Tasks acted on per second since the start. */
  rate: number;
  started_at: string;
  finished_at?: string;
  /** Why the job failed, when it did. */
  error?: string;
}

/** Where a batch is, as its heartbeats record it: a retried batch resumes here with the same ids. */
export interface JobBatchCheckpoint {
  ids: string[];
  next: JobCursor | null;
  index: number;
  tally: JobTally;
}

/** Activity type of a job's batch (its heartbeat details are a {@link JobBatchCheckpoint}). */
export const JobBatchActivityType = 'runJobBatch';

/** Longest list of sample ids kept in a job's progress. */
export const JOB_SAMPLE = 20;

/**
 * Memo key of a job's progress: written at start, after each batch and at the end, so GET /jobs/{id} and GET /jobs
 * read it without a worker (the running batch's share comes from its heartbeat).
 */
export const JobMemoKey = 'job';

export const jobProgressQuery = defineQuery<JobProgress>('jobProgress');
/** Stops a running job after its current batch; the validator rejects it once the job is over. */
export const cancelJobUpdate = defineUpdate<JobProgress, [{ reason?: string }]>('cancelJob');

export function emptyTally(): JobTally {
  return { done: 0, skipped: 0, failed: 0, skipped_reasons: {}, skipped_sample: [], failed_sample: [] };
}

/** Adds `b` to `a` (samples capped at {@link JOB_SAMPLE}). */
export function addTally(a: JobTally, b: JobTally): JobTally {
  const reasons = { ...a.skipped_reasons };
  for (const [r, n] of Object.entries(b.skipped_reasons)) reasons[r] = (reasons[r] ?? 0) + n;
  return {
    done: a.done + b.done,
    skipped: a.skipped + b.skipped,
    failed: a.failed + b.failed,
    skipped_reasons: reasons,
    skipped_sample: [...a.skipped_sample, ...b.skipped_sample].slice(0, JOB_SAMPLE),
    failed_sample: [...a.failed_sample, ...b.failed_sample].slice(0, JOB_SAMPLE),
  };
}

/** Tasks the job has handled (done + skipped + failed). */
export const handledBy = (p: JobTally) => p.done + p.skipped + p.failed;

/** The progress with its rate: tasks handled per second from its start to its finish (or `nowMs` while running). */
export function withRate(p: JobProgress, nowMs: number): JobProgress {
  const end = p.finished_at ? Date.parse(p.finished_at) : nowMs;
  const seconds = (end - Date.parse(p.started_at)) / 1000;
  return { ...p, rate: seconds > 0 ? Math.round((handledBy(p) / seconds) * 10) / 10 : 0 };
}

/** The progress of a job that has not counted its tasks yet (the memo its starter writes). */
export function startingProgress(job_id: string, kind: JobKind, started_at: string): JobProgress {
  return { job_id, kind, state: JobState.Running, total: 0, rate: 0, started_at, ...emptyTally() };
}

/** The request id a job puts on each requeue, so a repeated requeue of the same task by the same job is a no-op. */
export const jobRequestId = (jobId: string) => `job:${jobId}`;
