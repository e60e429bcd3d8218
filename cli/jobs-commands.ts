import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import type { ApiClient, Job, JobPage } from './api-client';
import { jobSummary, jobTable } from './format';

/** How often `jobs watch` asks for the job's progress, milliseconds. */
export const WATCH_INTERVAL_MS = 1000;

export interface JobCommandContext {
  client(cmd: Command): ApiClient;
  json(cmd: Command): boolean;
  out(text: string): void;
  stderr: NodeJS.WritableStream;
  /** Milliseconds between two progress reads of `jobs watch`. @default WATCH_INTERVAL_MS */
  watchIntervalMs?: number;
}

/**
 * Follows a job until it is over, with a progress bar on stderr (none with --json), and returns its final state.
 * The bar's total is the job's own estimate (the filter's count when it started).
 */
export async function watchJob(ctx: JobCommandContext, cmd: Command, jobId: string): Promise<Job> {
  const api = ctx.client(cmd);
  let job = await api.getJob(jobId);
  const bar = ctx.json(cmd)
    ? undefined
    : new SingleBar(
        {
          stream: ctx.stderr,
          format: `${job.kind} [{bar}] {value}/{total} tasks | {percentage}% | done {done} skipped {skipped} failed {failed} | {rate}/s`,
          hideCursor: true,
          clearOnComplete: false,
        },
        Presets.shades_classic,
      );
  const counts = (j: Job) => ({ done: j.done, skipped: j.skipped, failed: j.failed, rate: j.rate });
  const handled = (j: Job) => j.done + j.skipped + j.failed;
  bar?.start(Math.max(job.total, handled(job)), handled(job), counts(job));
  while (job.state === 'running') {
    await sleep(ctx.watchIntervalMs ?? WATCH_INTERVAL_MS);
    job = await api.getJob(jobId);
    bar?.setTotal(Math.max(job.total, handled(job)));
    bar?.update(handled(job), counts(job));
  }
  bar?.stop();
  return job;
}

/** `retryctl jobs list|show|watch|cancel`: the bulk jobs that requeue dead letters or cancel tasks. */
export function addJobCommands(program: Command, ctx: JobCommandContext): void {
  const jobs = program.command('jobs').description('bulk jobs (dead-letter requeues, task cancels) and their progress');
  const print = (cmd: Command, job: Job) =>
    ctx.json(cmd) ? ctx.out(JSON.stringify(job, null, 2)) : ctx.out(jobSummary(job));

  jobs
    .command('list')
    .description('recent jobs, newest first')
    .option('--page-size <n>', 'rows per page (API default 50)')
    .option('--page-token <token>', 'continue a listing')
    .action(async (o: { pageSize?: string; pageToken?: string }, cmd: Command) => {
      const page: JobPage = await ctx
        .client(cmd)
        .listJobs({ page_size: o.pageSize ? Number(o.pageSize) : undefined, page_token: o.pageToken });
      if (ctx.json(cmd)) ctx.out(JSON.stringify(page, null, 2));
      else ctx.out(jobTable(page));
    });

  jobs
    .command('show')
    .description("a job's state and counts")
    .argument('<id>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => print(cmd, await ctx.client(cmd).getJob(id)));

  jobs
    .command('watch')
    .description('follow a job with a progress bar until it is over')
    .argument('<id>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => print(cmd, await watchJob(ctx, cmd, id)));

  jobs
    .command('cancel')
    .description('stop a running job after its current batch')
    .argument('<id>', 'job id')
    .option('--reason <text>', 'recorded with the cancel')
    .action(async (id: string, o: { reason?: string }, cmd: Command) => {
      await ctx.client(cmd).cancelJob(id, o.reason);
      print(cmd, await watchJob(ctx, cmd, id));
    });
}
