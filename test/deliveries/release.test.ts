import { describe, expect, inject, it } from 'vitest';
import { ReleaseGate } from '../../activities';
import { retryWorkerActivities } from '../../worker/activities';
import { readLiveStatus } from '../../client/series-progress';
import { startTask } from '../../client/tasks';
import { cancelUpdate, retryNowUpdate } from '../../domain/messages';
import { releaseQueueOf } from '../../domain/series';
import { TaskState, type TaskStatus } from '../../domain/status';
import { TaskInput, type Task, type TaskRequest } from '../../domain/task';
import { createReleaseWorker, createWorker } from '../../worker/worker';
import { taskId, testDeps, useDevServerAndReceiver } from './helpers';

/**
 * Lead-time release on the real dev server: a delivery due at T is armed in the worker a lead before T and released
 * by the worker's gate at T. Retry-now and cancel reach an armed delivery in the same worker at once.
 */
const ctx = useDevServerAndReceiver();

function task(path: string, deliverAtMs: number): Task {
  return TaskInput.parse({
    id: taskId('release'),
    source: 'release-test',
    client_id: 'client-release',
    message_data: '{"armed": true}',
    destination_type: 'http',
    destination: { url: ctx.receiver.route(path, { mode: 'succeed' }) },
    max_retries: 3,
    base_delay: 1,
    deliver_at: new Date(deliverAtMs).toISOString(),
  } as TaskRequest);
}

/** Polls the live status until `accept` holds (the engine moves on its own; no fixed sleeps). */
async function statusWhen(id: string, accept: (s: TaskStatus) => boolean): Promise<TaskStatus> {
  for (;;) {
    const s = await readLiveStatus(ctx.env.client.workflow.getHandle(id));
    if (accept(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('lead-time release', () => {
  it('arms a timed delivery in the worker and releases it at its due time, never before; retry-now and cancel reach it while armed', async () => {
    const taskQueue = `release-${taskId('q')}`;
    const deps = testDeps({ TASK_QUEUE: taskQueue });
    const gate = new ReleaseGate();
    const activities = retryWorkerActivities({ deps, gate, client: ctx.env.client });
    const options = {
      connection: ctx.env.nativeConnection,
      namespace: 'default',
      config: deps.config,
      logger: deps.logger,
    };
    const worker = await createWorker({
      ...options,
      activities,
      taskQueue,
      workflowBundlePath: inject('workflowBundlePath'),
    });
    const releaseWorker = await createReleaseWorker({ ...options, activities, taskQueue });
    const leadMs = 60_000;
    const body = async () => {
      // Due in a minute with a 58 s lead: armed two seconds from now, so the worker holds it for most of the minute.
      const farDue = Date.now() + 60_000;
      const [retried, cancelled] = [task('/retried', farDue), task('/cancelled', farDue)];
      // Due in 5 s, shorter than its lead: armed at once (no workflow timer) and released by the gate at its due time.
      const soonDue = Date.now() + 5_000;
      const onTime = task('/on-time', soonDue);
      await startTask(ctx.env.client, taskQueue, retried, { releaseLeadMs: leadMs - 2_000 });
      await startTask(ctx.env.client, taskQueue, cancelled, { releaseLeadMs: leadMs - 2_000 });
      await startTask(ctx.env.client, taskQueue, onTime, { releaseLeadMs: leadMs });

      // Armed: the status says so and the delivery waits in this worker's gate on the release queue.
      const armed = await statusWhen(retried.id, (s) => s.details?.startsWith('armed') === true);
      expect(armed.state).toBe(TaskState.Scheduled);
      expect(armed.next_attempt_at).toBe(new Date(farDue).toISOString());
      await statusWhen(cancelled.id, (s) => s.details?.startsWith('armed') === true);
      const history = await ctx.env.client.workflow.getHandle(retried.id).fetchHistory();
      const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes);
      expect(scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name).toBe(releaseQueueOf(taskQueue));

      // Retry-now releases the armed delivery at once: it arrives long before its due time.
      await ctx.env.client.workflow.getHandle(retried.id).executeUpdate(retryNowUpdate);
      const done = (await ctx.env.client.workflow.getHandle(retried.id).result()) as TaskStatus;
      expect(done.state).toBe(TaskState.Succeeded);
      expect(done.attempt).toBe(1);
      expect(ctx.receiver.requests('/retried')).toHaveLength(1);
      expect(ctx.receiver.requests('/retried')[0]!.at).toBeLessThan(farDue);

      // Cancel holds the armed delivery back: nothing is sent and the task ends cancelled.
      await ctx.env.client.workflow.getHandle(cancelled.id).executeUpdate(cancelUpdate, { args: [{ reason: 'test' }] });
      const gone = (await ctx.env.client.workflow.getHandle(cancelled.id).result()) as TaskStatus;
      expect(gone.state).toBe(TaskState.Cancelled);
      expect(ctx.receiver.requests('/cancelled')).toHaveLength(0);

      // Released at its due time, not before.
      const delivered = (await ctx.env.client.workflow.getHandle(onTime.id).result()) as TaskStatus;
      expect(delivered.state).toBe(TaskState.Succeeded);
      const [arrival] = ctx.receiver.requests('/on-time');
      expect(arrival!.at).toBeGreaterThanOrEqual(soonDue);
      const onTimeEvents = (await ctx.env.client.workflow.getHandle(onTime.id).fetchHistory()).events ?? [];
      expect(onTimeEvents.some((e) => e.timerStartedEventAttributes)).toBe(false);
      expect(gate.stats()).toEqual({ armed: 0, instants: 0, sending: 0 });
    };
    try {
      await releaseWorker.runUntil(worker.runUntil(body));
    } finally {
      await deps.close();
    }
  });
});
