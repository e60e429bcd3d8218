import { z } from 'zod';
import { JobKind, JobState } from '../domain/jobs';
import { allTaskStates, finalStates } from '../domain/status';
import { exactlyOneOf } from '../domain/text-rules';
import { bulkFields, bulkFilter, pageFields } from './schemas';

/**
 * Schemas of bulk jobs: POST /tasks/cancel, the 202 answer of a bulk request, GET /jobs and GET /jobs/{id}. (The
 * bulk requeue's request stays in schemas.ts beside the dead-letter list it belongs to.)
 */

const openStates = allTaskStates.filter((s) => !finalStates.includes(s));

/** Filter of a bulk cancel: open tasks (all of them for `{}`) on this service's task queue. */
export const CancelFilter = bulkFilter(openStates);
export type CancelFilter = z.output<typeof CancelFilter>;

/** POST /tasks/cancel body: `ids` or `filter` (exactly one). */
export const BulkCancelRequest = exactlyOneOf(
  z.strictObject({ ...bulkFields, filter: CancelFilter.optional() }),
  ['ids', 'filter'],
  'give either ids or filter',
);
export type BulkCancelRequest = z.output<typeof BulkCancelRequest>;

/** 202 answer of a bulk request: the job that does it. */
export const JobAccepted = z.strictObject({
  job_id: z.string(),
  /** Absolute URL of GET /jobs/{id}. */
  status_url: z.string(),
});

const jobTally = {
  /** Tasks requeued (or cancelled). */
  done: z.number(),
  /** Tasks left alone, e.g. no longer dead-lettered; counts by reason in `skipped_reasons`. */
  skipped: z.number(),
  /** Tasks that could not be reached (Temporal did not answer for them). */
  failed: z.number(),
  skipped_reasons: z.record(z.string(), z.number()),
  skipped_sample: z.array(z.strictObject({ id: z.string(), reason: z.string() })),
  failed_sample: z.array(z.strictObject({ id: z.string(), error: z.string() })),
};

/** GET /jobs/{id} answer (also the answer of POST /jobs/{id}/cancel). */
export const JobResponse = z.strictObject({
  job_id: z.string(),
  kind: z.enum(Object.values(JobKind) as [JobKind, ...JobKind[]]),
  state: z.enum(Object.values(JobState) as [JobState, ...JobState[]]),
  /** Tasks the job expects to touch. */
  total: z.number(),
  ...jobTally,
  /** Tasks handled per second since the start. */
  rate: z.number(),
  started_at: z.string(),
  finished_at: z.string().optional(),
  /** Why the job failed. */
  error: z.string().optional(),
});
export type JobResponse = z.output<typeof JobResponse>;

/** One row of GET /jobs: visibility and, once the job has finished, its final counts. */
export const JobSummary = JobResponse.partial().extend({
  job_id: z.string(),
  state: JobResponse.shape.state,
  started_at: z.string(),
});
export type JobSummary = z.output<typeof JobSummary>;

export const JobPage = z.strictObject({
  items: z.array(JobSummary),
  /** Pass as `page_token` for the next page; null on the last page. */
  next_page_token: z.string().nullable(),
});
export type JobPage = z.output<typeof JobPage>;

/** GET /jobs query. */
export const ListJobsQuery = z.object(pageFields);

/** A job id in a path: `job-` and a UUID. */
export const JobId = z.string().regex(/^job-[0-9a-f-]{36}$/, 'job id must be "job-" followed by a UUID');
