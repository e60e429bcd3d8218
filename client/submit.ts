import type { Client, WorkflowIdReusePolicy } from '@temporalio/client';
import { httpUrlsOf } from '../domain/destination';
import type { Task } from '../domain/task';
import { checkUrlAllowed, compileAllowList, type SsrfPolicy } from '../destinations/ssrf-guard';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/metrics';
import { planBatch, type EnqueueSlot } from './key-enqueuer';
import { enqueuerOf } from './ordering';
import { startTask, type StartedTask } from './tasks';

/**
 * Where a task came in: the `via` label of `retry_service_tasks_submitted_total` and of the log line (`notify`: a
 * lifecycle notification the worker sends).
 */
export type SubmitVia = 'api' | 'batch' | 'ingress' | 'notify';

/** Thrown when a task names a URL the worker would refuse to deliver to (the SSRF guard). */
export class TargetRefusedError extends Error {
  constructor(
    /** The task field holding the URL, e.g. `destination.url`. */
    public readonly field: string,
    public readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'TargetRefusedError';
  }
}

export interface SubmitDeps {
  client: Client;
  taskQueue: string;
  /** Lead-time release, milliseconds (RELEASE_LEAD_SECONDS); 0 or absent: every wait is a plain workflow timer. */
  releaseLeadMs?: number;
  logger: Logger;
  metrics?: Pick<Metrics, 'tasksSubmitted'>;
  /** SSRF_ALLOW: hosts, addresses and CIDRs the guard lets through although private. */
  ssrfAllow: readonly string[];
}

export interface SubmitOptions {
  /** Reuse policy for an id whose workflow closed. @default WorkflowIdReusePolicy.ALLOW_DUPLICATE */
  reusePolicy?: WorkflowIdReusePolicy;
  /** Runs the start call (a deadline, a retry loop); returns what it returned. */
  around?: (start: () => Promise<StartedTask>) => Promise<StartedTask>;
  /** An ordered task's place in its key's enqueue order, from {@link Submitter.planStarts}. */
  enqueueSlot?: EnqueueSlot;
}

/**
 * The one way a validated task becomes a running workflow, shared by POST /tasks, POST /tasks/batch and the Kafka
 * ingress: refuse URLs the SSRF guard would refuse at delivery (naming the field), start the workflow (workflow id =
 * task id; {@link TaskAlreadyExistsError} when it is open), count it and log it. Validation of the body itself stays
 * with each entry point, which knows its input's form.
 */
export function createSubmitter(deps: SubmitDeps) {
  const policy: SsrfPolicy = compileAllowList(deps.ssrfAllow);

  /** Refuses the task's URLs that the delivery's SSRF guard would refuse (private, loopback, metadata addresses). */
  async function checkTargets(task: Task): Promise<void> {
    for (const [field, url] of httpUrlsOf(task)) {
      const refused = await checkUrlAllowed(url, policy);
      if (refused) throw new TargetRefusedError(field, refused);
    }
  }

  /** Starts the workflow of a task whose targets were checked, counts and logs it. */
  async function start(task: Task, via: SubmitVia, options: SubmitOptions = {}): Promise<StartedTask> {
    const run = () =>
      startTask(deps.client, deps.taskQueue, task, {
        reusePolicy: options.reusePolicy,
        releaseLeadMs: deps.releaseLeadMs,
        enqueueSlot: options.enqueueSlot,
      });
    const started = await (options.around ? options.around(run) : run());
    deps.metrics?.tasksSubmitted.inc({
      destination_type: task.destination_type,
      priority: String(task.is_priority),
      via,
    });
    // The ingress starts thousands a second: its line is debug.
    deps.logger[via === 'ingress' ? 'debug' : 'info'](
      { task_id: task.id, run_id: started.runId, via },
      'task scheduled',
    );
    return started;
  }

  /** Checks the targets ({@link TargetRefusedError}), then starts the workflow, counts and logs it. */
  async function submit(task: Task, via: SubmitVia, options: SubmitOptions = {}): Promise<StartedTask> {
    await checkTargets(task);
    return start(task, via, options);
  }

  /**
   * For callers that start several tasks at once but must keep their order (a batch): each ordered task's place in its
   * key's enqueue order, taken now, and the order to start them in (client/key-enqueuer.ts {@link planBatch}). Give
   * each place to {@link start}, and give it up (`giveUp`) once done with the task, whatever happened: a place neither
   * filled nor given up holds back every later task of its key in this process.
   */
  function planStarts(tasks: readonly Task[]) {
    return planBatch(
      enqueuerOf(deps.client, deps.taskQueue),
      tasks.map((t) => t.ordering_key),
    );
  }

  return { checkTargets, start, submit, planStarts };
}

export type Submitter = ReturnType<typeof createSubmitter>;
