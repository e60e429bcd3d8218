import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskInput, type TaskRequest } from '../../domain/task';
import { delayTiers, delayTierNames } from '../../domain/tiers';
import { cancelSignal, cancelUpdate, requeueUpdate, retryNowUpdate, statusQuery } from '../../domain/messages';
import { TaskState, type TaskStatus } from '../../domain/status';
import type { retryTask } from '../../workflows';
import type { Step } from '../support/scripted-activities';
import { scriptedWorker, untilStatus, useTimeSkipping } from '../support/time-skipping';
import { eventMs } from '../../testkit/history';

const server = useTimeSkipping();
let env: TestWorkflowEnvironment;
beforeAll(() => {
  env = server.env;
});
const histories: { workflowId: string; history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> }[] = [];

function httpTask(overrides: Partial<TaskRequest> = {}): TaskRequest {
  return {
    id: `task-${randomUUID()}`,
    source: 'order-service',
    client_id: 'client-001',
    destination_type: 'http',
    destination: { url: 'https://receiver.example/hook' },
    max_retries: 5,
    base_delay: 10,
    message_data: '{"order": 42}',
    ...overrides,
  } as TaskRequest;
}

/** Runs `body` with a worker whose activities follow `scripts`; keeps each workflow's history for the replay test. */
async function withWorker<T>(
  scripts: Record<string, { primary?: Step[]; deadLetter?: Step[] }>,
  body: (ctx: {
    start: (t: TaskRequest) => Promise<WorkflowHandle<typeof retryTask>>;
    calls: Awaited<ReturnType<typeof scriptedWorker>>['calls'];
  }) => Promise<T>,
): Promise<T> {
  const { worker, calls, taskQueue } = await scriptedWorker(env, scripts, 'wf', () => env.currentTimeMs());
  const started: WorkflowHandle<typeof retryTask>[] = [];
  const start = async (t: TaskRequest) => {
    const task = TaskInput.parse(t);
    const handle = await env.client.workflow.start<typeof retryTask>('retryTask', {
      taskQueue,
      workflowId: task.id,
      args: [{ task }],
    });
    started.push(handle);
    return handle;
  };
  const result = await worker.runUntil(async () => {
    try {
      return await body({ start, calls });
    } finally {
      // Leave nothing running: a parked workflow's timer would otherwise come due with no worker to serve it, and
      // the time-skipping server does not skip past a workflow task that nobody completes.
      for (const h of started) {
        const latest = env.client.workflow.getHandle(h.workflowId);
        if ((await latest.describe()).status.name === 'RUNNING') {
          // Cancel (the workflow ends itself as `cancelled`) rather than terminate: a terminated run's in-flight
          // activity can leave the server's time-skipping lock held.
          await latest.cancel();
          await latest.result().catch(() => undefined);
        }
      }
    }
  });
  for (const h of started) {
    histories.push({
      workflowId: h.workflowId,
      history: await env.client.workflow.getHandle(h.workflowId).fetchHistory(),
    });
  }
  return result;
}

/** Seconds between submission and each primary attempt, from the status' attempt log (workflow time). */
function attemptOffsets(status: TaskStatus): number[] {
  const t0 = Date.parse(status.submitted_at);
  return status.attempts
    .filter((a) => a.target === 'primary' && a.outcome !== 'deferred')
    .map((a) => Math.round((Date.parse(a.started_at) - t0) / 1000));
}
/**
 * The waits are exact in the server's time and never end early; an attempt's stamp also carries the time the engine
 * took, in real time, to run the workflow tasks and hand the attempt out (the time-skipping server counts real time
 * while work is pending). So a stamp is never early (a gap may read one second short from rounding), and at most
 * `slackSeconds` late: the engine time measured for this run ({@link engineSlackSeconds}).
 */
function expectSeconds(actual: number[], expected: number[], slackSeconds = 0) {
  const what = `${actual.join(',')} vs ${expected.join(',')} (engine slack ${slackSeconds} s)`;
  expect(actual, what).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(a - expected[i]!, what).toBeGreaterThanOrEqual(-1);
    expect(a - expected[i]!, what).toBeLessThanOrEqual(1 + slackSeconds);
  });
}

/**
 * Server time this task's run spent on engine work rather than waiting, from its history: every workflow task from
 * scheduled to completed, plus one second per primary attempt for handing it out and reporting it. Measured, not
 * assumed: on a quiet machine it is a fraction of a second, on a loaded one several.
 */
async function engineSlackSeconds(handle: WorkflowHandle, status: TaskStatus): Promise<number> {
  const events = (await env.client.workflow.getHandle(handle.workflowId).fetchHistory()).events ?? [];
  let ms = 0;
  let scheduledAt: number | undefined;
  for (const e of events) {
    if (e.workflowTaskScheduledEventAttributes) scheduledAt = eventMs(e.eventTime);
    if (e.workflowTaskCompletedEventAttributes && scheduledAt !== undefined) {
      ms += eventMs(e.eventTime) - scheduledAt;
      scheduledAt = undefined;
    }
  }
  const attempts = status.attempts.filter((a) => a.target === 'primary').length;
  return Math.ceil(ms / 1000) + attempts;
}
const gaps = (offsets: number[]) => offsets.map((o, i) => o - (i === 0 ? 0 : offsets[i - 1]!));

/**
 * Waits until the status query satisfies `pred`, skipping `stepMs` of workflow time per look and pausing briefly in
 * real time so the worker can run the activities and workflow tasks that became due.
 */
function until(
  handle: WorkflowHandle<typeof retryTask>,
  pred: (s: TaskStatus) => boolean,
  stepMs = 10_000,
): Promise<TaskStatus> {
  return untilStatus(env, handle, pred, stepMs);
}

describe('retry timeline', () => {
  it('makes attempt k base_delay·2^(k−1) s after the previous failure, then dead-letters after the last', async () => {
    const task = httpTask({ max_retries: 5, base_delay: 10 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable', status: 503 }] } }, async ({ start, calls }) => {
      const handle = await start(task);
      const status = await until(handle, (s) => s.state === TaskState.DeadLettered);
      const slack = await engineSlackSeconds(handle, status);
      expectSeconds(gaps(attemptOffsets(status)), [10, 20, 40, 80, 160], slack);
      // The log's times are the activity's; the server's clock when each attempt ran shows who held the waits.
      const ran = calls.filter((c) => c.req.kind === 'primary').map((c) => Math.round(c.serverTimeMs! / 1000));
      expectSeconds(gaps(ran).slice(1), [20, 40, 80, 160], slack);
      expect(status.attempt).toBe(5);
      expect(status.last_status_code).toBe(503);
      expect(status.dead_letter).toMatchObject({ reason: 'exhausted', delivered: false });
      expect(calls.filter((c) => c.req.kind === 'primary').map((c) => c.req.attempt)).toEqual([1, 2, 3, 4, 5]);
    });
  });

  it('caps every wait at max_delay', async () => {
    const task = httpTask({ max_retries: 5, base_delay: 10, max_delay: 30 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable', status: 500 }] } }, async ({ start }) => {
      const handle = await start(task);
      const status = await until(handle, (s) => s.state === TaskState.DeadLettered);
      expectSeconds(gaps(attemptOffsets(status)), [10, 20, 30, 30, 30], await engineSlackSeconds(handle, status));
    });
  });

  it('keeps jittered waits within [d/2, d] and under the cap', async () => {
    const task = httpTask({ max_retries: 6, base_delay: 10, max_delay: 60, jitter: 'equal' });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable' }] } }, async ({ start }) => {
      const handle = await start(task);
      const status = await until(handle, (s) => s.state === TaskState.DeadLettered);
      const slack = await engineSlackSeconds(handle, status);
      const waits = gaps(attemptOffsets(status));
      const nominal = [10, 20, 40, 60, 60, 60];
      expect(waits).toHaveLength(6);
      waits.forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(Math.floor(nominal[i]! / 2) - 1);
        expect(w, `${waits.join(',')} (engine slack ${slack} s)`).toBeLessThanOrEqual(nominal[i]! + 1 + slack);
      });
      expect(new Set(waits).size).toBeGreaterThan(1);
    });
  });

  it('waits exactly each delay tier from 5s to 5d before the first attempt', async () => {
    const tasks = delayTierNames.map((tier) => httpTask({ delay_tier: tier, id: `tier-${tier}-${randomUUID()}` }));
    const wall = Date.now();
    await withWorker({}, async ({ start }) => {
      // One at a time: the time-skipping server jumps days ahead, which would time out other runs' workflow tasks.
      for (const [i, t] of tasks.entries()) {
        const handle = await start(t);
        const status = await handle.result();
        expect(status.state).toBe(TaskState.Succeeded);
        expectSeconds(
          attemptOffsets(status),
          [delayTiers[delayTierNames[i]!]],
          await engineSlackSeconds(handle, status),
        );
      }
    });
    console.log(`[timing] ${tasks.length} tiers (5 s … 5 d simulated) took ${Date.now() - wall} ms of wall time`);
  });

  it('delivers at an exact deliver_at, and at once when deliver_at is in the past', async () => {
    const nowMs = await env.currentTimeMs();
    const dueMs = nowMs + 3 * 3600_000 + 17_000;
    const future = httpTask({ deliver_at: new Date(dueMs).toISOString() });
    const past = httpTask({ deliver_at: new Date(nowMs - 3600_000).toISOString() });
    await withWorker({}, async ({ start }) => {
      const futureHandle = await start(future);
      const fs = await futureHandle.result();
      const pastHandle = await start(past);
      const ps = await pastHandle.result();
      // Never early, and late by no more than the engine time this run measured (a fixed 2 s failed under load).
      const lateSeconds = Math.round((Date.parse(fs.attempts[0]!.started_at) - dueMs) / 1000);
      expectSeconds([lateSeconds], [0], await engineSlackSeconds(futureHandle, fs));
      expectSeconds(attemptOffsets(ps), [0], await engineSlackSeconds(pastHandle, ps));
    });
  });

  it('succeeds at attempt 3 after two retryable failures', async () => {
    const task = httpTask({ base_delay: 5 });
    await withWorker(
      {
        [task.id]: { primary: [{ fail: 'retryable', status: 502 }, { fail: 'retryable' }, { ok: true, status: 204 }] },
      },
      async ({ start }) => {
        const handle = await start(task);
        const status = await handle.result();
        expect(status.state).toBe(TaskState.Succeeded);
        expect(status.attempt).toBe(3);
        expect(status.attempts.map((a) => a.outcome)).toEqual(['retryable', 'retryable', 'success']);
        expect(status.attempts[0]).toMatchObject({ status_code: 502, error_class: 'http_502' });
        expectSeconds(gaps(attemptOffsets(status)), [5, 10, 20], await engineSlackSeconds(handle, status));
      },
    );
  });

  it('honours Retry-After instead of the computed wait, bounded by max_delay', async () => {
    const task = httpTask({ base_delay: 10, max_delay: 90 });
    await withWorker(
      {
        [task.id]: {
          primary: [
            { fail: 'retryable', status: 429, retryAfterMs: 45_000 },
            { fail: 'retryable', status: 429, retryAfterMs: 3600_000 },
            { ok: true },
          ],
        },
      },
      async ({ start, calls }) => {
        const handle = await start(task);
        const status = await handle.result();
        const slack = await engineSlackSeconds(handle, status);
        expectSeconds(gaps(attemptOffsets(status)), [10, 45, 90], slack);
        const ran = calls.map((c) => Math.round(c.serverTimeMs! / 1000));
        expectSeconds(gaps(ran).slice(1), [45, 90], slack);
      },
    );
  });

  it('stops retrying once max_duration would be exceeded and dead-letters with that reason', async () => {
    const task = httpTask({ base_delay: 10, max_retries: 10, max_duration: 100 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable' }] } }, async ({ start }) => {
      const handle = await start(task);
      const status = await until(handle, (s) => s.state === TaskState.DeadLettered);
      expectSeconds(gaps(attemptOffsets(status)), [10, 20, 40], await engineSlackSeconds(handle, status));
      expect(status.dead_letter?.reason).toBe('max_duration');
    });
  });
});

describe('dead-lettering', () => {
  it('sends a permanently refused message to the dead destination at once, with the failure context', async () => {
    const task = httpTask({
      dead_destination: { url: 'https://receiver.example/dlq' },
      key: 'k-1',
      headers: { 'x-a': '1' },
    });
    await withWorker({ [task.id]: { primary: [{ fail: 'permanent', status: 410 }] } }, async ({ start, calls }) => {
      const status = await until(await start(task), (s) => s.state === TaskState.DeadLettered);
      expect(status.attempt).toBe(1);
      expect(status.dead_letter).toMatchObject({ reason: 'permanent', delivered: true });
      const dl = calls.find((c) => c.req.kind === 'dead_letter')!;
      expect(dl.req.destination).toEqual({ kind: 'http', url: 'https://receiver.example/dlq' });
      expect(dl.req.message_data).toBe('{"order": 42}');
      expect(dl.req.key).toBe('k-1');
      expect(dl.req.headers).toEqual({ 'x-a': '1' });
      expect(dl.req.failure).toMatchObject({
        reason: 'permanent',
        attempts: 1,
        last_status_code: 410,
        original_destination: 'POST https://receiver.example/hook',
      });
      expect(dl.req.failure?.first_attempt_at).toBeDefined();
    });
  });

  it('goes straight to the dead destination when max_retries is 0, naming the original topic', async () => {
    const task = httpTask({
      max_retries: 0,
      destination_type: 'kafka',
      destination: { host: 'k', port: '9092', topic: 'orders' },
      dead_destination: { host: 'k', port: '9092', topic: 'orders-dlq' },
    });
    await withWorker({}, async ({ start, calls }) => {
      const status = await until(await start(task), (s) => s.state === TaskState.DeadLettered);
      expect(calls.map((c) => c.req.kind)).toEqual(['dead_letter']);
      expect(calls[0]!.req.failure).toMatchObject({ original_topic: 'orders', attempts: 0 });
      expect(status.dead_letter).toMatchObject({ reason: 'exhausted', delivered: true });
    });
  });

  it('retries a failing dead destination on its own policy, then parks as dead_letter_failed with the message kept', async () => {
    const task = httpTask({ max_retries: 1, base_delay: 1, dead_destination: { url: 'https://receiver.example/dlq' } });
    await withWorker(
      {
        [task.id]: { primary: [{ fail: 'retryable', status: 500 }], deadLetter: [{ fail: 'retryable', status: 503 }] },
      },
      async ({ start, calls }) => {
        const handle = await start(task);
        const status = await until(handle, (s) => s.state === TaskState.DeadLetterFailed);
        expect(calls.filter((c) => c.req.kind === 'dead_letter')).toHaveLength(10);
        expect(status.dead_letter).toMatchObject({ delivered: false });
        // The message is still in the task: a requeue to a working destination delivers it unchanged.
        await handle.executeUpdate(requeueUpdate, { args: [{}] });
        const next = env.client.workflow.getHandle<typeof retryTask>(task.id);
        await until(next, (s) => s.requeues === 1 && s.state !== TaskState.DeadLetterFailed);
      },
    );
  });

  it('parks as dead_lettered with the message kept when there is no dead destination', async () => {
    const task = httpTask({ max_retries: 1, base_delay: 1, park_retention: 3600 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable' }] } }, async ({ start }) => {
      const handle = await start(task);
      const parked = await until(handle, (s) => s.state === TaskState.DeadLettered);
      expect(parked.dead_letter?.delivered).toBe(false);
      expect(parked.dead_letter?.parked_until).toBeDefined();
      // After the retention the workflow closes, still dead_lettered.
      const final = await handle.result();
      expect(final.state).toBe(TaskState.DeadLettered);
    });
  });
});

describe('cancel, requeue, retry-now', () => {
  it('cancels during a wait: no further attempt is made', async () => {
    const task = httpTask({ base_delay: 600 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable' }] } }, async ({ start, calls }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Scheduled);
      const res = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'operator' }] });
      expect(res).toEqual({ previous_state: TaskState.Scheduled, state: TaskState.Cancelled });
      const final = await handle.result();
      expect(final.state).toBe(TaskState.Cancelled);
      expect(final.details).toContain('operator');
      expect(calls).toHaveLength(0);
    });
  });

  it('cancels an in-flight delivery, and the activity sees the cancellation', async () => {
    const task = httpTask({ base_delay: 1 });
    await withWorker({ [task.id]: { primary: [{ hang: true }] } }, async ({ start, calls }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Delivering);
      await handle.signal(cancelSignal, { reason: 'stop it' });
      const final = await handle.result();
      expect(final.state).toBe(TaskState.Cancelled);
      expect(final.attempts.at(-1)?.outcome).toBe('cancelled');
      expect(calls[0]?.cancelled).toBe(true);
    });
  });

  it('cancels a parked task', async () => {
    const task = httpTask({ max_retries: 0 });
    await withWorker({}, async ({ start }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.DeadLettered);
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      expect((await handle.result()).state).toBe(TaskState.Cancelled);
    });
  });

  it('ends as cancelled when cancellation comes from the Web UI or CLI (workflow cancel request)', async () => {
    const task = httpTask({ base_delay: 600 });
    await withWorker({}, async ({ start }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Scheduled);
      await handle.cancel();
      const final = await handle.result();
      expect(final.state).toBe(TaskState.Cancelled);
    });
  });

  it('requeues a parked task with overrides: attempts reset, new destination and message, same task id', async () => {
    const task = httpTask({ max_retries: 2, base_delay: 1 });
    await withWorker(
      { [task.id]: { primary: [{ fail: 'retryable' }, { fail: 'retryable' }, { ok: true }] } },
      async ({ start, calls }) => {
        const handle = await start(task);
        const parked = await until(handle, (s) => s.state === TaskState.DeadLettered);
        const firstRun = (await handle.describe()).runId;
        const res = await handle.executeUpdate(requeueUpdate, {
          args: [
            { overrides: { destination: { url: 'https://other.example/new' }, message_data: 'v2' }, reason: 'fixed' },
          ],
        });
        expect(res.previous_state).toBe(TaskState.DeadLettered);
        const next = env.client.workflow.getHandle<typeof retryTask>(task.id);
        const final = await next.result();
        expect(final.state).toBe(TaskState.Succeeded);
        expect(final.task_id).toBe(task.id);
        expect(final.requeues).toBe(1);
        expect(final.attempt).toBe(1);
        // The attempt log keeps the first run's attempts too.
        expect(final.attempts.length).toBe(parked.attempts.length + 1);
        expect((await next.describe()).runId).not.toBe(firstRun);
        const last = calls.at(-1)!;
        expect(last.req.destination).toEqual({ kind: 'http', url: 'https://other.example/new' });
        expect(last.req.message_data).toBe('v2');
        expect(last.req.attempt).toBe(1);
      },
    );
  });

  it('requeues a waiting task without overrides and tries it at once', async () => {
    const task = httpTask({ base_delay: 3600 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable' }, { ok: true }] } }, async ({ start }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Waiting, 600_000);
      await handle.executeUpdate(requeueUpdate, { args: [{}] });
      const final = await env.client.workflow.getHandle<typeof retryTask>(task.id).result();
      expect(final.state).toBe(TaskState.Succeeded);
      expect(final.requeues).toBe(1);
    });
  });

  it('retry-now skips the current wait', async () => {
    const task = httpTask({ base_delay: 3600 });
    await withWorker({}, async ({ start }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Scheduled);
      await handle.executeUpdate(retryNowUpdate, { args: [] });
      const final = await handle.result();
      expect(final.state).toBe(TaskState.Succeeded);
      expect(attemptOffsets(final)[0]).toBeLessThan(3600);
    });
  });

  it('retry-now during a wait held by the server makes the next attempt at once and keeps the log', async () => {
    const task = httpTask({ base_delay: 3600, max_retries: 4 });
    await withWorker(
      {
        [task.id]: { primary: [{ fail: 'retryable', status: 503 }, { fail: 'retryable', status: 502 }, { ok: true }] },
      },
      async ({ start, calls }) => {
        const handle = await start(task);
        const waiting = await until(handle, (s) => s.state === TaskState.Waiting && s.attempt === 2, 600_000);
        expect(waiting.next_attempt_at).toBeDefined();
        const res = await handle.executeUpdate(retryNowUpdate, { args: [] });
        expect(res.state).toBe(TaskState.Delivering);
        const final = await handle.result();
        expect(final.state).toBe(TaskState.Succeeded);
        expect(final.attempt).toBe(3);
        expect(final.attempts.map((a) => [a.number, a.outcome, a.status_code])).toEqual([
          [1, 'retryable', 503],
          [2, 'retryable', 502],
          [3, 'success', 200],
        ]);
        const ran = calls.map((c) => Math.round(c.serverTimeMs! / 1000));
        // Attempt 3 would have waited 4 h (3600·2²); retry-now made it at once.
        expect(ran[2]! - ran[1]!).toBeLessThan(3600);
        expect(calls.map((c) => c.req.attempt)).toEqual([1, 2, 3]);
      },
    );
  });

  it('cancel during a wait held by the server keeps the attempts made in the final status', async () => {
    const task = httpTask({ base_delay: 600 });
    await withWorker({ [task.id]: { primary: [{ fail: 'retryable', status: 503 }] } }, async ({ start, calls }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.Waiting && s.attempt === 2, 600_000);
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'operator gave up' }] });
      const final = await handle.result();
      expect(final.state).toBe(TaskState.Cancelled);
      expect(final.details).toMatch(/cancelled while waiting_retry: operator gave up/);
      expect(final.attempt).toBe(2);
      expect(final.attempts.map((a) => a.outcome)).toEqual(['retryable', 'retryable']);
      expect(calls).toHaveLength(2);
    });
  });

  it('counts an attempt that was in flight and never reported (outcome unknown) and goes on with the next', async () => {
    const task = httpTask({ base_delay: 10, max_retries: 3 });
    await withWorker({ [task.id]: { primary: [{ stall: true }, { ok: true }] } }, async ({ start }) => {
      const final = await (await start(task)).result();
      expect(final.state).toBe(TaskState.Succeeded);
      expect(final.attempt).toBe(2);
      expect(final.attempts.map((a) => [a.number, a.outcome, a.error_class])).toEqual([
        [1, 'retryable', 'outcome_unknown'],
        [2, 'success', undefined],
      ]);
    });
  });

  it('rejects invalid transitions with a reason', async () => {
    const task = httpTask({ max_retries: 0 });
    await withWorker({}, async ({ start }) => {
      const handle = await start(task);
      await until(handle, (s) => s.state === TaskState.DeadLettered);
      const err = await handle.executeUpdate(retryNowUpdate, { args: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('InvalidTransition');
      expect(cause.message).toContain('dead_lettered');
      const bad = await handle
        .executeUpdate(requeueUpdate, { args: [{ overrides: { max_retries: -1 } as never }] })
        .catch((e: unknown) => e);
      expect(((bad as WorkflowUpdateFailedError).cause as ApplicationFailure).message).toContain('max_retries');
      const wrongKind = await handle
        .executeUpdate(requeueUpdate, { args: [{ overrides: { destination: { host: 'h', port: '1', topic: 't' } } }] })
        .catch((e: unknown) => e);
      expect(((wrongKind as WorkflowUpdateFailedError).cause as ApplicationFailure).message).toContain('http');
      expect((await handle.query(statusQuery)).state).toBe(TaskState.DeadLettered);
    });
  });
});

describe('destination protection', () => {
  it('defers while the circuit is open without using up an attempt', async () => {
    const task = httpTask({ max_retries: 2, base_delay: 10 });
    await withWorker(
      { [task.id]: { primary: [{ circuitOpenForMs: 60_000 }, { circuitOpenForMs: 60_000 }, { ok: true }] } },
      async ({ start, calls }) => {
        const handle = await start(task);
        const deferred = await until(handle, (s) => s.circuit_open_until !== undefined);
        expect(deferred.state).toBe(TaskState.Waiting);
        expect(deferred.details).toContain('circuit open until');
        const final = await handle.result();
        expect(final.state).toBe(TaskState.Succeeded);
        expect(final.attempt).toBe(1);
        expect(final.attempts.map((a) => a.outcome)).toEqual(['deferred', 'deferred', 'success']);
        expect(calls.map((c) => c.req.attempt)).toEqual([1, 1, 1]);
      },
    );
  });
});

describe('status and history', () => {
  it('reports state, attempt, next attempt time and the attempt log at each step', async () => {
    const task = httpTask({ max_retries: 3, base_delay: 100 });
    await withWorker(
      { [task.id]: { primary: [{ fail: 'retryable', status: 503 }, { ok: true }] } },
      async ({ start }) => {
        const handle = await start(task);
        const scheduled = await until(handle, (s) => s.state === TaskState.Scheduled);
        expect(scheduled).toMatchObject({ attempt: 0, max_attempts: 3, task_id: task.id, destination_type: 'http' });
        const firstWait = Date.parse(scheduled.next_attempt_at!) - Date.parse(scheduled.submitted_at);
        expect(firstWait).toBeGreaterThanOrEqual(100_000);
        expect(firstWait).toBeLessThan(101_000);
        const waiting = await until(handle, (s) => s.state === TaskState.Waiting);
        expect(waiting.attempt).toBe(1);
        expect(waiting.last_status_code).toBe(503);
        expect(waiting.details).toMatch(/attempt 1\/3 failed: HTTP 503 — next at /);
        expect(waiting.attempts).toHaveLength(1);
        expect(waiting.attempts[0]).toMatchObject({ number: 1, outcome: 'retryable', status_code: 503 });
        const final = await handle.result();
        expect(final.state).toBe(TaskState.Succeeded);
        expect(final.next_attempt_at).toBeUndefined();
      },
    );
  });

  it('records no more history per retry than half of a timer-then-activity loop (11 events), log kept', async () => {
    const events = async (failures: number) => {
      const task = httpTask({ base_delay: 10, max_retries: 5 });
      const primary: Step[] = [
        ...Array.from({ length: failures }, () => ({ fail: 'retryable' as const })),
        { ok: true },
      ];
      return withWorker({ [task.id]: { primary } }, async ({ start }) => {
        const handle = await start(task);
        const final = await handle.result();
        expect(final.attempts).toHaveLength(failures + 1);
        return (await handle.fetchHistory()).events?.length ?? 0;
      });
    };
    const [none, three] = [await events(0), await events(3)];
    expect(none).toBeGreaterThan(0);
    expect((three - none) / 3).toBeLessThanOrEqual(11 / 2);
  });

  it('replays every recorded history without nondeterminism', async () => {
    expect(histories.length).toBeGreaterThan(10);
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
    );
    let count = 0;
    for await (const r of results) {
      expect(r.error, `${r.workflowId}: ${String(r.error)}`).toBeUndefined();
      count++;
    }
    expect(count).toBe(histories.length);
  });
});
