import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AckErrorClass, receiverAckUpdate, type ReceiverAnswer } from '../../domain/ack';
import { cancelUpdate, requeueUpdate, retryNowUpdate, statusQuery } from '../../domain/messages';
import { TaskState, type TaskStatus } from '../../domain/status';
import { TaskInput, type TaskRequest } from '../../domain/task';
import type { retryTask } from '../../workflows';
import { scriptedActivities, type Step } from '../support/scripted-activities';
import { bundleWorker, startTimeSkippingEnv } from '../support/time-skipping';

/**
 * Receiver acknowledgement under the time-skipping server: the workflow's side of ack / nack / ack_timeout. The
 * receiver's answers are sent as the API sends them (the receiverAck update, after the API checked the token).
 */
type Handle = WorkflowHandle<typeof retryTask>;
const recorded: { workflowId: string; history: Awaited<ReturnType<Handle['fetchHistory']>> }[] = [];
let env: TestWorkflowEnvironment;
beforeAll(async () => void (env = await startTimeSkippingEnv()));
afterAll(() => env?.teardown());

/** An HTTP task with ack_timeout 60 s, delivered at once (deliver_at in the past), backoff 10 s. */
const ackTaskBase = {
  source: 'ack-test',
  client_id: 'client-ack',
  destination_type: 'http',
  destination: { url: 'https://receiver.example/hook', ack_timeout: 60 },
  max_retries: 3,
  base_delay: 10,
  deliver_at: '2000-01-01T00:00:00Z',
  message_data: '{"order": 7}',
} as const;
const ackTask = (over: Partial<TaskRequest> = {}) =>
  ({ ...ackTaskBase, id: `ack-${randomUUID()}`, ...over }) as TaskRequest;

/** One worker with scripted deliveries for `body`; every task it started is closed and its history kept for replay. */
async function scripted<T>(
  scripts: Record<string, { primary?: Step[]; deadLetter?: Step[] }>,
  body: (start: (t: TaskRequest) => Promise<Handle>) => Promise<T>,
): Promise<T> {
  const { activities } = scriptedActivities(scripts);
  const taskQueue = `ack-${randomUUID()}`;
  const worker = await bundleWorker(env, taskQueue, activities);
  const ids: string[] = [];
  const result = await worker.runUntil(async () => {
    try {
      return await body(async (t) => {
        const task = TaskInput.parse(t);
        ids.push(task.id);
        return env.client.workflow.start<typeof retryTask>('retryTask', {
          taskQueue,
          workflowId: task.id,
          args: [{ task }],
        });
      });
    } finally {
      for (const id of ids) {
        const h = env.client.workflow.getHandle(id);
        if ((await h.describe()).status.name !== 'RUNNING') continue;
        await h.cancel();
        await h.result().catch(() => undefined);
      }
    }
  });
  for (const id of ids)
    recorded.push({ workflowId: id, history: await env.client.workflow.getHandle(id).fetchHistory() });
  return result;
}

/** Scripts in which every delivery of these tasks answers 202. */
const answering202 = (...tasks: TaskRequest[]) =>
  Object.fromEntries(tasks.map((t) => [t.id, { primary: [{ ok: true as const, status: 202 }] }]));

/** Polls the status query (real time; workflow time moves only when a test says so) until `pred` holds. */
async function statusWhen(h: Handle, pred: (s: TaskStatus) => boolean): Promise<TaskStatus> {
  let last: TaskStatus | undefined;
  for (const started = Date.now(); Date.now() - started < 60_000;) {
    last = await h.query(statusQuery);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
}

const awaiting =
  (attempt: number, round = 0) =>
  (s: TaskStatus) =>
    s.state === TaskState.AwaitingAck && s.attempt === attempt && s.requeues === round;

const answer = (h: Handle, a: Partial<ReceiverAnswer> & Pick<ReceiverAnswer, 'outcome'>) =>
  h.executeUpdate(receiverAckUpdate, { args: [{ target: 'primary', round: 0, attempt: 1, ...a }] });

/** The reason an update was refused with (the API answers it as 409), or fails the test. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('InvalidTransition');
  return (cause as ApplicationFailure).message;
}

describe('receiver acknowledgement', () => {
  it('succeeds when the receiver acks in time, with the deadline shown while it waits', async () => {
    const task = ackTask();
    await scripted(answering202(task), async (start) => {
      const h = await start(task);
      const waiting = await statusWhen(h, awaiting(1));
      expect(waiting.ack_deadline).toBeDefined();
      expect(waiting.details).toContain('HTTP 202 for attempt 1/3');
      const nowMs = await env.currentTimeMs();
      expect(Date.parse(waiting.ack_deadline!) - nowMs).toBeGreaterThan(50_000);
      expect(Date.parse(waiting.ack_deadline!) - nowMs).toBeLessThanOrEqual(60_000);
      expect(await answer(h, { outcome: 'ack' })).toEqual({
        previous_state: TaskState.AwaitingAck,
        state: TaskState.Succeeded,
      });
      const final = await h.result();
      expect(final.state).toBe(TaskState.Succeeded);
      expect(final.ack_deadline).toBeUndefined();
      expect(final.attempts.map((a) => [a.number, a.outcome, a.status_code])).toEqual([[1, 'success', 202]]);
    });
  });

  it('times out without an ack (error class ack_timeout), retries after the backoff and succeeds at attempt 2', async () => {
    const task = ackTask();
    await scripted(answering202(task), async (start) => {
      const h = await start(task);
      const first = await statusWhen(h, awaiting(1));
      expect(await refusal(h.executeUpdate(retryNowUpdate, { args: [] }))).toMatch(/awaiting_ack/);
      await env.sleep(61_000); // past the ack deadline: attempt 1 fails, the 10 s backoff starts
      const waitingRetry = await statusWhen(h, (s) => s.state === TaskState.Waiting);
      expect(waitingRetry.attempts[0]).toMatchObject({ number: 1, outcome: 'retryable', error_class: 'ack_timeout' });
      expect(waitingRetry.last_error).toMatch(/no acknowledgement within 60 s/);
      expect(waitingRetry.details).toMatch(/attempt 1\/3 failed: ack_timeout — next at/);
      await env.sleep(11_000);
      const second = await statusWhen(h, awaiting(2));
      // A late ack for the attempt that timed out is refused with the reason; the task is unaffected.
      expect(await refusal(answer(h, { outcome: 'ack', attempt: 1 }))).toMatch(/attempt 1 timed out/);
      expect(await refusal(answer(h, { outcome: 'ack', attempt: 5 }))).toMatch(/attempt 5 is not awaiting/);
      expect((await h.query(statusQuery)).state).toBe(TaskState.AwaitingAck);
      await answer(h, { outcome: 'ack', attempt: 2 });
      const final = await h.result();
      expect(final.state).toBe(TaskState.Succeeded);
      expect(final.attempts.map((a) => [a.number, a.outcome, a.error_class])).toEqual([
        [1, 'retryable', AckErrorClass.Timeout],
        [2, 'success', undefined],
      ]);
      // Attempt 2 started after the 60 s ack timeout and the 10 s backoff.
      const gapMs = Date.parse(final.attempts[1]!.started_at) - Date.parse(final.attempts[0]!.started_at);
      expect(gapMs).toBeGreaterThanOrEqual(70_000);
      expect(Date.parse(second.ack_deadline!)).toBeGreaterThan(Date.parse(first.ack_deadline!));
    });
  });

  it('retries after a retryable nack and dead-letters at once after a permanent one', async () => {
    const retryable = ackTask();
    const permanent = ackTask({ dead_destination: { url: 'https://receiver.example/dlq' } });
    await scripted(answering202(retryable, permanent), async (start) => {
      const r = await start(retryable);
      await statusWhen(r, awaiting(1));
      const nacked = await answer(r, { outcome: 'nack', reason: 'queue full', retryable: true });
      expect(nacked).toEqual({ previous_state: TaskState.AwaitingAck, state: TaskState.Waiting });
      const waiting = await r.query(statusQuery);
      expect(waiting.attempts[0]).toMatchObject({ outcome: 'retryable', error_class: 'nack' });
      expect(waiting.last_error).toBe('receiver nack: queue full');
      expect(await refusal(answer(r, { outcome: 'ack' }))).toMatch(/attempt 1 was nacked already/);
      await env.sleep(11_000);
      await statusWhen(r, awaiting(2));

      const p = await start(permanent);
      await statusWhen(p, awaiting(1));
      await answer(p, { outcome: 'nack', reason: 'unknown customer', retryable: false });
      const parked = await statusWhen(p, (s) => s.state === TaskState.DeadLettered);
      expect(parked.attempt).toBe(1);
      expect(parked.dead_letter).toMatchObject({ reason: 'permanent', delivered: true });
      expect(parked.attempts.map((a) => [a.target, a.outcome, a.error])).toEqual([
        ['primary', 'permanent', 'receiver nack (not retryable): unknown customer'],
        ['dead_letter', 'success', undefined],
      ]);
    });
  });

  it('takes an ack that overtakes the 2xx it answers', async () => {
    const task = ackTask();
    await scripted({ [task.id]: { primary: [{ ok: true, status: 202, afterMs: 1_500 }] } }, async (start) => {
      const h = await start(task);
      await statusWhen(h, (s) => s.state === TaskState.Delivering);
      const acked = answer(h, { outcome: 'ack' });
      expect(await acked).toMatchObject({ state: TaskState.Succeeded });
      expect((await h.result()).attempts.map((a) => a.outcome)).toEqual(['success']);
    });
  });

  it('cancels while awaiting an ack; a requeue starts a new round whose tokens differ from the old ones', async () => {
    const cancelled = ackTask();
    const requeued = ackTask();
    await scripted(answering202(cancelled, requeued), async (start) => {
      const c = await start(cancelled);
      await statusWhen(c, awaiting(1));
      await c.executeUpdate(cancelUpdate, { args: [{ reason: 'order withdrawn' }] });
      const final = await c.result();
      expect(final.state).toBe(TaskState.Cancelled);
      expect(final.details).toMatch(/cancelled while awaiting_ack: order withdrawn/);

      const r = await start(requeued);
      await statusWhen(r, awaiting(1));
      const moved = await r.executeUpdate(requeueUpdate, { args: [{ reason: 'receiver reset' }] });
      expect(moved).toEqual({ previous_state: TaskState.AwaitingAck, state: TaskState.Scheduled });
      const latest = env.client.workflow.getHandle<typeof retryTask>(requeued.id);
      await statusWhen(latest, awaiting(1, 1));
      expect(await refusal(answer(latest, { outcome: 'ack', round: 0 }))).toMatch(/earlier round/);
      await answer(latest, { outcome: 'ack', round: 1 });
      const done = await latest.result();
      expect(done).toMatchObject({ state: TaskState.Succeeded, requeues: 1, attempt: 1 });
    });
  });

  it('waits for an ack of the dead-letter delivery too; without one the message stays parked here', async () => {
    const acked = ackTask({ dead_destination: { url: 'https://receiver.example/dlq', ack_timeout: 30 } });
    const silent = ackTask({ dead_destination: { url: 'https://receiver.example/dlq', ack_timeout: 30 } });
    const scripts = {
      [acked.id]: { primary: [{ fail: 'permanent' as const, status: 410 }], deadLetter: [{ ok: true as const }] },
      [silent.id]: { primary: [{ fail: 'permanent' as const, status: 410 }], deadLetter: [{ ok: true as const }] },
    };
    await scripted(scripts, async (start) => {
      const a = await start(acked);
      const waiting = await statusWhen(a, (s) => s.state === TaskState.AwaitingAck);
      expect(waiting.details).toMatch(/permanent: HTTP 200 from the dead destination/);
      await answer(a, { outcome: 'ack', target: 'dead_letter' });
      const parked = await statusWhen(a, (s) => s.state === TaskState.DeadLettered);
      expect(parked.dead_letter).toMatchObject({ reason: 'permanent', delivered: true });

      const s = await start(silent);
      await statusWhen(s, (st) => st.state === TaskState.AwaitingAck);
      await env.sleep(31_000);
      const failed = await statusWhen(s, (st) => st.state === TaskState.DeadLetterFailed);
      expect(failed.dead_letter).toMatchObject({ reason: 'permanent', delivered: false });
      expect(failed.last_error).toMatch(/^dead destination: no acknowledgement within 30 s/);
      expect(failed.attempts.at(-1)).toMatchObject({ target: 'dead_letter', error_class: 'ack_timeout' });
    });
  });

  it('adds at most one workflow task per acked delivery', async () => {
    // No status queries here: the time-skipping server records a workflow task for each. The ack is sent while the
    // delivery is in flight (seen in describe), and the delivery reports only once the workflow took the ack, so the
    // workflow learns of the 2xx and the ack in as few tasks as it can, however slow the machine.
    const plain = ackTask({ destination: { url: 'https://receiver.example/hook' } });
    const acked = ackTask();
    let ackAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (ackAnswered = resolve));
    const slowOk = { primary: [{ ok: true as const, afterMs: 1_000 }] };
    const heldOk = { primary: [{ ok: true as const, heldUntil: answered }] };
    await scripted({ [plain.id]: slowOk, [acked.id]: heldOk }, async (start) => {
      await (await start(plain)).result();
      const h = await start(acked);
      for (let i = 0; (await h.describe()).raw.pendingActivities?.length !== 1; i++) {
        expect(i, 'the delivery never started').toBeLessThan(500);
        await new Promise((r) => setTimeout(r, 20));
      }
      // The workflow took the ack (accepted); it answers the update once it has the 2xx, which comes after.
      const ack = await h.startUpdate(receiverAckUpdate, {
        args: [{ target: 'primary', round: 0, attempt: 1, outcome: 'ack' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      ackAnswered();
      await ack.result();
      expect((await h.result()).state).toBe(TaskState.Succeeded);
      const tasks = async (id: string) =>
        (await env.client.workflow.getHandle(id).fetchHistory()).events!.filter(
          (e) => e.workflowTaskCompletedEventAttributes,
        ).length;
      const [without, withAck] = [await tasks(plain.id), await tasks(acked.id)];
      console.log(`[ack] workflow tasks of a first-try delivery: ${without} without ack, ${withAck} with`);
      expect(withAck - without).toBeLessThanOrEqual(1);
    });
  });

  it('replays the histories of these tasks without nondeterminism', async () => {
    expect(recorded.length).toBeGreaterThanOrEqual(9);
    const results = Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, recorded);
    for await (const r of results) expect(r.error, `${r.workflowId}: ${String(r.error)}`).toBeUndefined();
  });
});
