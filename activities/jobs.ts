import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  JOB_SAMPLE,
  JobKind,
  emptyTally,
  jobRequestId,
  type JobBatchCheckpoint,
  type JobBatchRequest,
  type JobBatchResult,
  type JobCursor,
  type JobSpec,
  type JobTally,
} from '../domain/jobs';
import { InvalidTransitionType, cancelUpdate, requeueAppliedQuery, requeueUpdate } from '../domain/messages';
import type { TaskStatus } from '../domain/status';
import type { Logger } from '../platform/logger';

export interface JobActivityDeps {
  client: Client;
  namespace: string;
  logger: Logger;
  /**
   * Deadline of one Temporal call (an update to one task), milliseconds.
   * @default 10000
   */
  callTimeoutMs?: number;
}

/** Attempts of a batch in which a task that does not answer in time is retried rather than counted as failed. */
const ATTEMPTS_BEFORE_UNANSWERED_FAIL = 5;

/** A call that timed out or found no server: nothing was decided, asking again is safe (requeues carry a request id). */
function unanswered(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) return true;
  return isGrpcServiceError(err) && (err.code === 4 || err.code === 14);
}

/** Calls in a row that fail for want of Temporal before the batch gives up and is retried as a whole. */
const MAX_UNAVAILABLE_IN_A_ROW = 3;

type Outcome = { done: true } | { skipped: string } | { failed: string };
/** A task's answer, or the error for which the batch stops and is retried from its checkpoint. */
type Settled = { outcome: Outcome; err?: unknown } | { abort: unknown };

/**
 * Calls to tasks in flight at once in a batch. The pace decides when each call starts; this bound lets a pace above
 * one task per round trip (~50 ms an update on the dev server) be kept without one slow task holding the rest.
 */
const IN_FLIGHT = 16;

/**
 * The activities of bulk jobs (workflows/bulk-job.ts): count the tasks, and run one paced batch of requeues or
 * cancels. Each batch heartbeats its checkpoint as its tasks answer, so a retry after a worker crash goes on with the
 * same ids from the first task not yet recorded; the tasks in flight at the crash are asked again, which is safe
 * (requeues carry the job's request id; a cancel the job already made is recognised by its reason).
 */
export function createJobActivities(deps: JobActivityDeps) {
  const { client } = deps;
  const within = <T>(fn: () => Promise<T>) => client.withDeadline(Date.now() + (deps.callTimeoutMs ?? 10_000), fn);

  async function countJobTasks(spec: JobSpec): Promise<number> {
    if (spec.target.type === 'ids') return spec.target.ids.length;
    const { query, limit } = spec.target;
    const { count } = await within(() => client.workflow.count(query));
    return Math.min(count, limit);
  }

  /** The ids of the batch at `cursor` and the cursor after it. */
  async function fetchBatch(req: JobBatchRequest): Promise<{ ids: string[]; next: JobCursor | null }> {
    const { target, batch_size } = req.spec;
    if (target.type === 'ids') {
      const index = 'index' in req.cursor ? req.cursor.index : 0;
      const end = Math.min(index + batch_size, target.ids.length);
      return { ids: target.ids.slice(index, end), next: end < target.ids.length ? { index: end } : null };
    }
    const token = 'page_token' in req.cursor ? req.cursor.page_token : undefined;
    const pageSize = Math.min(batch_size, req.remaining);
    const response = await within(() =>
      client.workflowService.listWorkflowExecutions({
        namespace: deps.namespace,
        // Runs started after the job began are not the job's: a task it requeued continues in a new run.
        query: `${target.query} AND StartTime < "${req.started_at}"`,
        pageSize,
        nextPageToken: token ? Buffer.from(token, 'base64') : undefined,
      }),
    );
    const ids = (response.executions ?? []).map((e) => e.execution?.workflowId ?? '').filter(Boolean);
    const more = response.nextPageToken?.length && ids.length < req.remaining;
    return {
      ids,
      next: more ? { page_token: Buffer.from(response.nextPageToken as Uint8Array).toString('base64') } : null,
    };
  }

  async function requeueOne(req: JobBatchRequest, id: string): Promise<Outcome> {
    const { overrides, reason } = req.spec;
    const requestId = jobRequestId(req.job_id);
    const handle = client.workflow.getHandle(id);
    try {
      await within(() =>
        handle.executeUpdate(requeueUpdate, {
          // The same update id each time this job asks this task: a request still pending from an attempt that timed
          // out (its task had no worker) is joined, not repeated and refused as "not parked".
          updateId: requestId,
          args: [
            {
              overrides,
              reason: reason ?? `bulk requeue (job ${req.job_id})`,
              request_id: requestId,
              only_parked: true,
            },
          ],
        }),
      );
      return { done: true };
    } catch (err) {
      if (!('skipped' in classify(err))) throw err;
      // A refusal of a request this job made before: its update was applied and the task continued as new while the
      // call went unanswered (a worker restart); asked again, the server answers "workflow execution already
      // completed" for the old run (seen in every worker-restart test run). The task knows whether it applied the id.
      if (!(await within(() => handle.query(requeueAppliedQuery, requestId)))) throw err;
      deps.logger.info(
        { job_id: req.job_id, task_id: id, refusal: String(err) },
        'repeated requeue refused; applied before',
      );
      return { done: true };
    }
  }

  async function cancelOne(req: JobBatchRequest, id: string): Promise<Outcome> {
    const mark = `(job ${req.job_id})`;
    try {
      await within(() =>
        client.workflow.getHandle(id).executeUpdate(cancelUpdate, {
          updateId: jobRequestId(req.job_id),
          args: [{ reason: `${req.spec.reason ?? 'bulk cancel'} ${mark}` }],
        }),
      );
      return { done: true };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Closed: if this job cancelled it (a batch repeated after a crash), it counts as done.
      const handle = client.workflow.getHandle(id);
      const desc = await within(() => handle.describe());
      if (desc.status.name === 'COMPLETED') {
        const status = (await within(() => handle.result())) as TaskStatus;
        if (status.state === 'cancelled' && status.details.includes(mark)) return { done: true };
      }
      return { skipped: `task is closed (${desc.status.name.toLowerCase()})` };
    }
  }

  async function runJobBatch(req: JobBatchRequest): Promise<JobBatchResult> {
    const ctx = Context.current();
    const resumed = ctx.info.heartbeatDetails as JobBatchCheckpoint | undefined;
    const checkpoint: JobBatchCheckpoint = resumed ?? { ...(await fetchBatch(req)), index: 0, tally: emptyTally() };
    const log = deps.logger.child({ job_id: req.job_id, kind: req.spec.kind });
    if (resumed) log.info({ index: resumed.index, of: resumed.ids.length }, 'job batch resumes after a retry');
    ctx.heartbeat(checkpoint);

    const act = req.spec.kind === JobKind.Requeue ? requeueOne : cancelOne;
    const intervalMs = 1000 / req.spec.per_second;
    const first = checkpoint.index;
    const startedMs = Date.now();
    // Answers that came before an earlier task's: the checkpoint records tasks in order only, so a retry after a
    // crash redoes exactly the tasks after it (a redone task answers as done: request id / cancel mark).
    const settled = new Map<number, Settled>();
    const inFlight = new Set<Promise<void>>();
    let abort: { err: unknown } | undefined;
    let unavailableInARow = 0;

    const advance = () => {
      const from = checkpoint.index;
      for (let s = settled.get(checkpoint.index); s && !abort; s = settled.get(checkpoint.index)) {
        settled.delete(checkpoint.index);
        if ('abort' in s) {
          abort = { err: s.abort };
          break;
        }
        if ('failed' in s.outcome) {
          // Several tasks in a row that cannot be reached: Temporal itself is unavailable. Retry the batch later
          // from this checkpoint rather than count every remaining task as failed.
          if (++unavailableInARow >= MAX_UNAVAILABLE_IN_A_ROW) {
            abort = { err: s.err };
            break;
          }
        } else unavailableInARow = 0;
        record(checkpoint.tally, checkpoint.ids[checkpoint.index] as string, s.outcome);
        checkpoint.index++;
      }
      if (checkpoint.index > from) ctx.heartbeat(checkpoint);
    };
    const handle = async (i: number) => {
      try {
        settled.set(i, { outcome: await act(req, checkpoint.ids[i] as string) });
      } catch (err) {
        // The task did not answer in time (its worker stops or restarts, Temporal is overloaded): record nothing and
        // let the batch be retried from this task, for its first few attempts; after that it counts as failed.
        const retry =
          ctx.cancellationSignal.aborted || (unanswered(err) && ctx.info.attempt < ATTEMPTS_BEFORE_UNANSWERED_FAIL);
        settled.set(i, retry ? { abort: err } : { outcome: classify(err), err });
      }
      advance();
    };

    try {
      for (let i = first; i < checkpoint.ids.length && !abort; i++) {
        const wait = startedMs + (i - first) * intervalMs - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal: ctx.cancellationSignal });
        while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        if (abort) break;
        const call: Promise<void> = handle(i).finally(() => inFlight.delete(call));
        inFlight.add(call);
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (abort) throw abort.err;
    const { tally, next } = checkpoint;
    log.info({ handled: checkpoint.ids.length, done: tally.done, skipped: tally.skipped }, 'job batch done');
    return { ...tally, handled: checkpoint.ids.length, next };
  }

  return { countJobTasks, runJobBatch };
}

export type JobActivities = ReturnType<typeof createJobActivities>;

/** A refusal by the task (invalid transition, unknown or closed id) skips it; anything else is a failure. */
function classify(err: unknown): Outcome {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    if (err.cause.type === InvalidTransitionType) return { skipped: err.cause.message };
  }
  if (err instanceof WorkflowNotFoundError) return { skipped: 'task not found or closed' };
  return { failed: err instanceof Error ? err.message : String(err) };
}

function record(t: JobTally, id: string, o: Outcome): void {
  if ('done' in o) t.done++;
  else if ('skipped' in o) {
    t.skipped++;
    t.skipped_reasons[o.skipped] = (t.skipped_reasons[o.skipped] ?? 0) + 1;
    if (t.skipped_sample.length < JOB_SAMPLE) t.skipped_sample.push({ id, reason: o.skipped });
  } else {
    t.failed++;
    if (t.failed_sample.length < JOB_SAMPLE) t.failed_sample.push({ id, error: o.failed });
  }
}
