import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { JobActivities } from '../activities/jobs';
import {
  JobMemoKey,
  JobState,
  addTally,
  cancelJobUpdate,
  handledBy,
  jobProgressQuery,
  startingProgress,
  withRate as withRateAt,
  type JobBatchResult,
  type JobCursor,
  type JobProgress,
  type JobSpec,
} from '../domain/jobs';
import { notifyJobFinished } from './lifecycle-notify';

export interface BulkJobInput {
  spec: JobSpec;
  /** Progress and cursor carried over from the previous run (the job continues as new every few thousand tasks). */
  carried?: { progress: JobProgress; cursor: JobCursor };
  /** Batches one run makes before it continues as new (tests set a small number). @default {@link BATCHES_PER_RUN} */
  batches_per_run?: number;
}

/** About 3,000 history events a run (six per batch): below the server's suggestion to continue as new (4k events). */
export const BATCHES_PER_RUN = 500;

const { countJobTasks } = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds' },
});
// A batch heartbeats after every task and resumes from its last heartbeat when retried (worker crash, timeout).
const { runJobBatch } = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry: { maximumInterval: '30 seconds' },
});

/**
 * A bulk job (domain/jobs.ts): counts its tasks, then hands them to paced batch activities one batch at a time and
 * records each batch's result and next cursor before asking for the next, so a crash repeats at most the current
 * batch, which resumes from its heartbeat (and each requeue carries the job's request id, so even that repeat
 * requeues nothing twice). Cancel (POST /jobs/{id}/cancel) stops it after the current batch.
 */
export async function bulkJob(input: BulkJobInput): Promise<JobProgress> {
  const { spec } = input;
  const info = workflowInfo();
  const progress: JobProgress =
    input.carried?.progress ??
    startingProgress(info.workflowId, spec.kind, new Date(info.startTime.getTime()).toISOString());
  let cursor: JobCursor | null = input.carried?.cursor ?? (spec.target.type === 'ids' ? { index: 0 } : {});
  let cancelReason: string | undefined;
  // Jobs started before this patch took their own continue-as-new for an error and ended `failed` at that point
  // (found by the 100k jobs bench); their histories replay so.
  const continues = patched('bulk-job-continue-as-new');
  const batchesPerRun = input.batches_per_run ?? BATCHES_PER_RUN;
  let batches = 0;

  setHandler(jobProgressQuery, () => withRate(progress));
  setHandler(
    cancelJobUpdate,
    (req) => {
      cancelReason = req.reason ?? 'cancel requested';
      return withRate(progress);
    },
    {
      validator: (_req: { reason?: string }) => {
        if (progress.state !== JobState.Running || cancelReason !== undefined) {
          throw ApplicationFailure.create({
            type: 'InvalidTransition',
            message: `job is already ${cancelReason !== undefined ? JobState.Cancelled : progress.state}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  try {
    if (!input.carried) {
      progress.total = await countJobTasks(spec);
      show(progress);
      record(progress);
    }
    while (cursor && cancelReason === undefined) {
      if (workflowInfo().continueAsNewSuggested || (continues && batches >= batchesPerRun)) {
        await condition(allHandlersFinished);
        // The memo is not carried over by itself; GET /jobs reads the job's start and kind from it.
        const next = makeContinueAsNewFunc<typeof bulkJob>({ memo: { [JobMemoKey]: withRate(progress) } });
        return await next({ ...input, carried: { progress, cursor } });
      }
      const remaining = spec.target.type === 'ids' ? Infinity : spec.target.limit - handledBy(progress);
      if (remaining <= 0) break;
      const batch: JobBatchResult = await runJobBatch({
        job_id: info.workflowId,
        spec,
        cursor,
        started_at: progress.started_at,
        remaining: Number.isFinite(remaining) ? remaining : spec.batch_size,
      });
      Object.assign(progress, addTally(progress, batch));
      cursor = batch.next;
      batches++;
      show(progress);
      record(progress);
    }
    finish(progress, cancelReason === undefined ? JobState.Completed : JobState.Cancelled);
  } catch (err) {
    if (continues && err instanceof ContinueAsNew) throw err;
    // Cancelled from the Web UI or the CLI (workflow cancellation): the job ends as `cancelled`.
    if (isCancellation(err)) finish(progress, JobState.Cancelled);
    else {
      progress.error = (err as Error).message;
      finish(progress, JobState.Failed);
    }
  }
  await CancellationScope.nonCancellable(async () => {
    await notifyJobFinished(withRate(progress));
    await condition(allHandlersFinished);
  });
  return withRate(progress);
}

/** The progress with its rate: tasks handled per second since the job started (until it finished). */
const withRate = (p: JobProgress) => withRateAt(p, Date.now());

/**
 * Writes the progress into the memo once per batch (batches are seconds of paced work), so GET /jobs/{id} answers
 * without a worker; the running batch's share is on its heartbeat. Histories from before this wrote it only at the end.
 */
function record(p: JobProgress): void {
  if (patched('job-progress-memo')) upsertMemo({ [JobMemoKey]: withRate(p) });
}

function show(p: JobProgress): void {
  const handled = handledBy(p);
  setCurrentDetails(
    `**${p.kind} job ${p.state}** · ${handled}/${p.total} handled: ${p.done} done, ${p.skipped} skipped, ${p.failed} failed`,
  );
}

function finish(p: JobProgress, state: JobState): void {
  p.state = state;
  p.finished_at = new Date(Date.now()).toISOString();
  Object.assign(p, withRate(p));
  show(p);
  upsertMemo({ [JobMemoKey]: p });
}
