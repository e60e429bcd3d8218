import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { cancelUpdate, requeueUpdate, statusQuery } from '../../domain/messages';
import {
  DEFERRED_START_MS,
  KeyBehaviour,
  OnDeadLetter,
  OrderingKeyWorkflowType,
  enqueueSignal,
  keyQueueQuery,
  orderingWorkflowId,
} from '../../domain/ordering';
import { TaskState, type TaskStatus } from '../../domain/status';
import { withPlace } from '../../client/ordering';
import { readLiveStatus } from '../../client/series-progress';
import { WorkflowBehaviour } from '../../domain/visibility';
import { useTimeSkipping } from '../support/time-skipping';
import {
  delivered,
  done,
  parked,
  task,
  until as untilOn,
  withWorker as withWorkerOn,
  type Handle,
  type WorkerCtx,
} from './ordering-support';

const server = useTimeSkipping();
let env: TestWorkflowEnvironment;
beforeAll(() => {
  env = server.env;
});

const withWorker = <T>(scripts: Parameters<typeof withWorkerOn>[1], body: (ctx: WorkerCtx) => Promise<T>) =>
  withWorkerOn(env, scripts, body);
const until = (handle: Handle, pred: (s: TaskStatus) => boolean, stepMs = 5_000) => untilOn(env, handle, pred, stepMs);

describe('ordered delivery per key', () => {
  it('attempts a key strictly in acceptance order while its head fails; other keys and unordered tasks go on', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b, c, other, free] = ['a', 'b', 'c', 'other', 'free'].map((n) => `${p}-${n}`) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const scripts = {
      [a]: {
        primary: [{ fail: 'retryable' as const, status: 503 }, { fail: 'retryable' as const }, { ok: true as const }],
      },
    };
    await withWorker(scripts, async ({ start, calls }) => {
      const ha = await start(task(a, { ordering_key: `k-${p}` }));
      const hb = await start(task(b, { ordering_key: `k-${p}`, base_delay: 1 }));
      const hc = await start(task(c, { ordering_key: `k-${p}`, base_delay: 1 }));
      const ho = await start(task(other, { ordering_key: `k2-${p}`, base_delay: 1 }));
      const hf = await start(task(free, { base_delay: 1 }));
      // B waits behind A, C behind B.
      const waiting = await withPlace(env.client, await until(hc, (s) => s.state === TaskState.Blocked));
      expect(waiting).toMatchObject({ state: 'blocked', ordering_key: `k-${p}`, position: 3, blocked_by: b });
      const bDone = await until(hb, done);
      const cDone = await until(hc, done);
      const aDone = await ha.query(statusQuery);
      await until(ho, done);
      await until(hf, done);
      expect(aDone.state).toBe(TaskState.Succeeded);
      // Per key, one task at a time in order: A's three attempts, then B, then C; the other key and the unordered
      // task were delivered while A was still failing.
      const order = delivered(calls);
      expect(order.filter((id) => [a, b, c].includes(id))).toEqual([a, a, a, b, c]);
      expect(order.indexOf(other)).toBeLessThan(order.lastIndexOf(a));
      expect(order.indexOf(free)).toBeLessThan(order.lastIndexOf(a));
      // B's first attempt is due at the later of its own due time (1 s after submission) and A's end.
      const aEnded = Date.parse(aDone.last_attempt_at!);
      expect(Date.parse(bDone.first_attempt_at!)).toBeGreaterThanOrEqual(aEnded);
      expect(Date.parse(cDone.first_attempt_at!)).toBeGreaterThanOrEqual(Date.parse(bDone.last_attempt_at!));
      const key = await env.client.workflow.getHandle(orderingWorkflowId(`k-${p}`)).query(keyQueueQuery);
      expect(key.entries).toEqual([]);
    });
  });

  it('queues the entries of one enqueue signal in its order, each granted at once (not at the end of its start delay)', async () => {
    const p = randomUUID().slice(0, 8);
    const ids = ['a', 'b', 'c'].map((n) => `${p}-${n}`);
    const key = `k-${p}`;
    await withWorker({}, async ({ startOnly, calls, taskQueue }) => {
      // Started deferred without a place (as a batch's items before their places are filled), then enqueued together.
      const handles = await Promise.all(ids.map((id) => startOnly(task(id, { ordering_key: key }))));
      const startedAt = await env.currentTimeMs();
      const [c, a, b] = [ids[2]!, ids[0]!, ids[1]!];
      const entry = (id: string) => ({ task_id: id, on_dead_letter: OnDeadLetter.Continue, deferred: true });
      await env.client.workflow.signalWithStart(OrderingKeyWorkflowType, {
        taskQueue,
        workflowId: orderingWorkflowId(key),
        args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked }],
        signal: enqueueSignal,
        signalArgs: [entry(c), entry(a), entry(b)],
      });
      for (const h of handles) await until(h, done, 1_000);
      expect(delivered(calls)).toEqual([c, a, b]);
      expect((await env.currentTimeMs()) - startedAt).toBeLessThan(DEFERRED_START_MS);
    });
  });

  it('under "continue" the next task proceeds once the head is dead-lettered; a requeue goes to the back', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `${p}-${n}`) as [string, string, string];
    const scripts = { [a]: { primary: [{ fail: 'permanent' as const, status: 400 }, { ok: true as const }] } };
    await withWorker(scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, on_dead_letter: 'continue' }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      const hc = await start(task(c, { ordering_key: key, base_delay: 3600 }));
      await until(ha, parked);
      await until(hb, done);
      // C waits for its own due time (an hour after submission); A is requeued meanwhile and goes behind C.
      await until(hc, (s) => s.state === TaskState.Scheduled);
      await ha.executeUpdate(requeueUpdate, { args: [{ reason: 'fixed' }] });
      const requeued = await withPlace(env.client, await until(ha, (s) => s.state === TaskState.Blocked));
      expect(requeued).toMatchObject({ position: 2, blocked_by: c });
      await until(hc, done, 60_000);
      await until(ha, done);
      expect(delivered(calls)).toEqual([a, b, c, a]);
    });
  });

  it('under "block" the key waits for the dead-lettered head until it is requeued and succeeds', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b] = ['a', 'b'].map((n) => `${p}-${n}`) as [string, string];
    const scripts = { [a]: { primary: [{ fail: 'permanent' as const, status: 422 }, { ok: true as const }] } };
    await withWorker(scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, on_dead_letter: 'block' }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      await until(ha, parked);
      // An hour later B still waits behind A.
      await env.sleep(3600_000);
      const blocked = await withPlace(env.client, await readLiveStatus(hb));
      expect(blocked).toMatchObject({ state: 'blocked', position: 2, blocked_by: a });
      expect(delivered(calls)).toEqual([a]);
      await ha.executeUpdate(requeueUpdate, { args: [{}] });
      await until(ha, done);
      await until(hb, done);
      expect(delivered(calls)).toEqual([a, a, b]);
    });
  });

  it('a cancel of a waiting task removes it from the queue; a cancel of the head lets the next proceed', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `${p}-${n}`) as [string, string, string];
    const scripts = { [a]: { primary: [{ fail: 'retryable' as const, status: 503 }] } };
    await withWorker(scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, base_delay: 60, max_retries: 10 }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      const hc = await start(task(c, { ordering_key: key, base_delay: 1 }));
      await until(ha, (s) => s.attempt >= 1);
      await hb.executeUpdate(cancelUpdate, { args: [{ reason: 'not needed' }] });
      expect((await hb.result()).state).toBe(TaskState.Cancelled);
      const place = await withPlace(env.client, await readLiveStatus(hc));
      expect(place).toMatchObject({ state: 'blocked', position: 2, blocked_by: a });
      await ha.executeUpdate(cancelUpdate, { args: [{}] });
      await until(hc, done);
      expect(delivered(calls).filter((id) => id !== a)).toEqual([c]);
    });
  });

  it('a task terminated while it holds the turn leaves the queue at the next probe', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b] = ['a', 'b'].map((n) => `${p}-${n}`) as [string, string];
    const scripts = { [a]: { primary: [{ fail: 'retryable' as const }] } };
    await withWorker(scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, base_delay: 600, max_retries: 10 }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      await until(ha, (s) => s.attempt >= 1);
      await ha.terminate('operator terminated it from the Web UI');
      await until(hb, done, 600_000);
      expect(delivered(calls).filter((id) => id === b)).toEqual([b]);
    });
  });

  it('keeps 1,000 queued tasks of one key in order across the key workflow continuing as new', async () => {
    const p = randomUUID().slice(0, 8);
    const key = `k-${p}`;
    const ids = Array.from({ length: 1000 }, (_, i) => `${p}-${String(i).padStart(4, '0')}`);
    // The head fails twice and waits an hour after each failure: the other 999 queue behind it.
    const scripts = {
      [ids[0]!]: { primary: [{ fail: 'retryable' as const }, { fail: 'retryable' as const }, { ok: true as const }] },
    };
    await withWorker(scripts, async ({ start, calls }) => {
      const handles: Handle[] = [];
      for (const id of ids) {
        handles.push(await start(task(id, { ordering_key: key, base_delay: id === ids[0] ? 3600 : 0 })));
      }
      const queued = await env.client.workflow.getHandle(orderingWorkflowId(key)).query(keyQueueQuery);
      expect(queued.entries.map((e) => e.task_id)).toEqual(ids);
      await until(handles[999]!, done, 60_000);
      expect(delivered(calls)).toEqual([ids[0], ids[0], ...ids]);
      const history = await env.client.workflow.getHandle(orderingWorkflowId(key)).fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(started?.continuedExecutionRunId, 'the key workflow continued as new').toBeTruthy();
    });
  }, 600_000);

  // Tasks of the service's behaviour version, and of the initial one (their checks behind patch markers).
  it.each([
    ['', WorkflowBehaviour.SeriesHandOff],
    [' (chain behaviour)', WorkflowBehaviour.Chain],
    [' (hand-off behaviour)', WorkflowBehaviour.HandOff],
    [' (lean-ordered behaviour)', WorkflowBehaviour.LeanOrdered],
    [' (initial behaviour)', undefined],
  ])(
    'a task whose starter stopped between its start and its enqueue takes a place a minute later%s',
    async (_, behaviour) => {
      const p = randomUUID().slice(0, 8);
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => `${p}-${n}`) as [string, string, string, string];
      const scripts = { [a]: { primary: [{ fail: 'retryable' as const }, { ok: true as const }] } };
      await withWorker(scripts, async ({ start, startOnly, calls }) => {
        const key = `k-${p}`;
        const ha = await start(task(a, { ordering_key: key, base_delay: 120 }));
        const hb = await startOnly(task(b, { ordering_key: key, base_delay: 1 }), behaviour);
        // The first task of a key whose workflow never ran: the task starts it.
        const hd = await startOnly(task(d, { ordering_key: `k2-${p}`, base_delay: 1 }), behaviour);
        const hc = await start(task(c, { ordering_key: key, base_delay: 1 }));
        await until(hd, done);
        await until(hb, done);
        expect((await ha.query(statusQuery)).state).toBe(TaskState.Succeeded);
        expect((await hc.query(statusQuery)).state).toBe(TaskState.Succeeded);
        // B joined a minute after its start: before C, unless C had already been promised the turn after A (the key's
        // first grant named it). Either way nothing ran beside A.
        const order = delivered(calls).filter((id) => id !== d);
        expect(order.slice(0, 2)).toEqual([a, a]);
        expect([...order.slice(2)].sort()).toEqual([b, c]);
      });
    },
  );
});
