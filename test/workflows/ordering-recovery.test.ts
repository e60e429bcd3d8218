import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  KeyBehaviour,
  OrderingKeyWorkflowType,
  OrphanTurnWorkflowType,
  enqueueSignal,
  keyQueueQuery,
  orderingWorkflowId,
  type TurnHandOffResult,
} from '../../domain/ordering';
import { TaskState, type TaskStatus } from '../../domain/status';
import { useTimeSkipping } from '../support/time-skipping';
import { delivered, done, parked, task, until as untilOn, withWorker, type Handle } from './ordering-support';

/**
 * Ordered delivery when things go wrong around the key: the key workflow terminated from the Web UI, a task gone
 * while the turn is handed to it, and what the hand-over and the key's single probe timer cost.
 */
const server = useTimeSkipping();
let env: TestWorkflowEnvironment;
beforeAll(() => {
  env = server.env;
});

const until = (handle: Handle, pred: (s: TaskStatus) => boolean, stepMs = 5_000) => untilOn(env, handle, pred, stepMs);
const historyOf = async (workflowId: string) =>
  (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
/** How many timers a workflow started and cancelled. */
const timersOf = async (workflowId: string) => {
  const events = await historyOf(workflowId);
  return {
    started: events.filter((e) => e.timerStartedEventAttributes).length,
    cancelled: events.filter((e) => e.timerCanceledEventAttributes).length,
  };
};
/**
 * The tasks a workflow sent the turn to, in order: grants and hand-overs as signal commands, and grants and hand-overs
 * by local activity (its marker records whom it granted or handed the turn to).
 */
const turnsSentBy = async (workflowId: string) =>
  (await historyOf(workflowId)).flatMap((e) => {
    const signal = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (signal?.signalName === 'orderingTurn') return [signal.workflowExecution?.workflowId];
    const result = e.markerRecordedEventAttributes?.details?.result?.payloads?.[0];
    const answer = result
      ? defaultPayloadConverter.fromPayload<TurnHandOffResult & { granted_to?: string }>(result as Payload)
      : undefined;
    // Behaviour SeriesHandOff: the attempt series handed the turn on, as its result says.
    const series = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    const fromSeries = series
      ? defaultPayloadConverter.fromPayload<{ handed_off?: TurnHandOffResult }>(series as Payload).handed_off
      : undefined;
    const handed = answer?.handed_to ?? answer?.granted_to ?? fromSeries?.handed_to;
    return handed !== undefined ? [handed] : [];
  });

describe('ordered delivery when the key workflow is terminated', () => {
  // Without a later submission the tasks restart the key themselves (a child workflow) at their check instant; with
  // one, its starter restarts it, gathering, so it cannot overtake them.
  it.each([
    ['by the tasks at their check instant', false],
    ['by the starter of a task submitted after the termination, which goes last', true],
  ])(
    'queued tasks still go out in order, none lost, the key restarted %s',
    async (_how, submitAfter) => {
      const p = randomUUID().slice(0, 8);
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => `${p}-${n}`) as [string, string, string, string];
      // The head fails three times an hour or more apart: the key is terminated while it holds the turn.
      const fail = { fail: 'retryable' as const };
      const scripts = { [a]: { primary: [fail, fail, fail, { ok: true as const }] } };
      await withWorker(env, scripts, async ({ start, calls }) => {
        const key = `k-${p}`;
        const ha = await start(task(a, { ordering_key: key, base_delay: 3600, max_retries: 5 }));
        const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
        const hc = await start(task(c, { ordering_key: key, base_delay: 1 }));
        await until(ha, (s) => s.attempt >= 1, 600_000);
        await env.client.workflow
          .getHandle(orderingWorkflowId(key))
          .terminate('operator terminated it from the Web UI');
        const hd = submitAfter ? await start(task(d, { ordering_key: key, base_delay: 1 })) : undefined;
        for (const h of [ha, hb, hc, ...(hd ? [hd] : [])]) await until(h, done, 600_000);
        expect(delivered(calls)).toEqual([a, a, a, a, b, c, ...(hd ? [d] : [])]);
        const restarted = await env.client.workflow.getHandle(orderingWorkflowId(key)).query(keyQueueQuery);
        expect(restarted.entries, 'the restarted key holds no task that ended').toEqual([]);
      });
    },
    300_000,
  );

  it('a task terminated while waiting is skipped by the hand-over: the key grants the one after it', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `${p}-${n}`) as [string, string, string];
    const scripts = { [a]: { primary: [{ fail: 'retryable' as const }, { ok: true as const }] } };
    await withWorker(env, scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, base_delay: 60 }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      const hc = await start(task(c, { ordering_key: key, base_delay: 1 }));
      // A's grant named B then C: A hands the turn to B, which is gone.
      const view = await env.client.workflow.getHandle(orderingWorkflowId(key)).query(keyQueueQuery);
      expect(view.entries.map((e) => e.task_id)).toEqual([a, b, c]);
      await hb.terminate('operator terminated it from the Web UI');
      await until(hc, done, 30_000);
      expect((await ha.result()).state).toBe(TaskState.Succeeded);
      expect(delivered(calls)).toEqual([a, a, c]);
      const after = await env.client.workflow.getHandle(orderingWorkflowId(key)).query(keyQueueQuery);
      expect(after.entries).toEqual([]);
    });
  });
});

describe('the hand-over and the probe', () => {
  it('an ending task hands the turn straight to the next; the key grants once and keeps a single probe timer', async () => {
    const p = randomUUID().slice(0, 8);
    const ids = Array.from({ length: 8 }, (_, i) => `${p}-${i}`);
    // The head fails once: the others queue behind it, then run as a chain.
    const scripts = { [ids[0]!]: { primary: [{ fail: 'retryable' as const }, { ok: true as const }] } };
    await withWorker(env, scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const handles: Handle[] = [];
      for (const id of ids) handles.push(await start(task(id, { ordering_key: key, base_delay: 1 })));
      for (const h of handles) await until(h, done, 2_000);
      expect(delivered(calls)).toEqual([ids[0], ...ids]);
      // The key granted the head at once (nothing queued behind it then), and B once A ended (naming the rest):
      // from B on, each task handed the turn straight to the next.
      expect(await turnsSentBy(orderingWorkflowId(key))).toEqual([ids[0], ids[1]]);
      for (const [i, id] of ids.slice(1, -1).entries()) {
        expect(await turnsSentBy(id), `${id} hands the turn to the next task`).toEqual([ids[i + 2]]);
      }
      expect(await turnsSentBy(ids[7]!), 'the last task tells the key only').toEqual([]);
      expect(await timersOf(orderingWorkflowId(key)), 'one probe timer for all the holders').toEqual({
        started: 1,
        cancelled: 0,
      });
    });
  });

  it('the probe fires hourly while one task holds the turn, and stops once the key is idle', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b] = ['a', 'b'].map((n) => `${p}-${n}`) as [string, string];
    const fail = { fail: 'retryable' as const };
    // A holds the turn for about 3 hours (attempts at 1 h and 3 h fail, the one at 7 h succeeds).
    const scripts = { [a]: { primary: [fail, fail, { ok: true as const }] } };
    await withWorker(env, scripts, async ({ start }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, base_delay: 3600 }));
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      await until(ha, done, 600_000);
      await until(hb, done, 600_000);
      const before = (await timersOf(orderingWorkflowId(key))).started;
      // About one probe per hour A held the turn (7 h), each a timer and a probe signal that A answers with nothing.
      expect(before).toBeGreaterThanOrEqual(6);
      expect(before).toBeLessThanOrEqual(9);
      await env.sleep(5 * 3600_000);
      // Idle: the probe timer armed last fires, and none is armed again.
      expect((await timersOf(orderingWorkflowId(key))).started).toBe(before);
    });
  });

  it('a turn granted to a task id that no longer exists starts an orphan turn in its place, which passes it on', async () => {
    const p = randomUUID().slice(0, 8);
    const [ghost, b] = ['ghost', 'b'].map((n) => `${p}-${n}`) as [string, string];
    await withWorker(env, {}, async ({ start, calls, taskQueue }) => {
      const key = `k-${p}`;
      // The key still queues a task whose workflow is gone altogether (closed, then deleted by retention).
      await env.client.workflow.signalWithStart(OrderingKeyWorkflowType, {
        taskQueue,
        workflowId: orderingWorkflowId(key),
        args: [{ ordering_key: key, behaviour: KeyBehaviour.Unmarked }],
        signal: enqueueSignal,
        signalArgs: [{ task_id: ghost, on_dead_letter: 'continue', deferred: true }],
      });
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      await until(hb, done);
      expect(delivered(calls)).toEqual([b]);
      const orphan = await env.client.workflow.getHandle(ghost).describe();
      expect(orphan.type).toBe(OrphanTurnWorkflowType);
      expect(orphan.status.name).toBe('COMPLETED');
      const queue = await env.client.workflow.getHandle(orderingWorkflowId(key)).query(keyQueueQuery);
      expect(queue.entries).toEqual([]);
      await env.client.workflow.getHandle(orderingWorkflowId(key)).terminate('test over');
    });
  });

  it('a turn granted to a task that already let its key go is passed on at once, not at the next probe', async () => {
    const p = randomUUID().slice(0, 8);
    const [a, b] = ['a', 'b'].map((n) => `${p}-${n}`) as [string, string];
    const scripts = { [a]: { primary: [{ fail: 'permanent' as const, status: 400 }] } };
    await withWorker(env, scripts, async ({ start, calls }) => {
      const key = `k-${p}`;
      const ha = await start(task(a, { ordering_key: key, on_dead_letter: 'continue' }));
      await until(ha, parked);
      // A late duplicate of A's enqueue: dead-lettered and parked, A no longer wants a turn, yet gets one.
      const keyHandle = env.client.workflow.getHandle(orderingWorkflowId(key));
      await keyHandle.signal(enqueueSignal, { task_id: a, on_dead_letter: 'continue', deferred: true });
      const hb = await start(task(b, { ordering_key: key, base_delay: 1 }));
      // Well within the hour after which the key would probe A.
      await until(hb, done, 1_000);
      expect(delivered(calls)).toEqual([a, b]);
      expect((await keyHandle.query(keyQueueQuery)).entries).toEqual([]);
      await keyHandle.terminate('test over');
    });
  });
});
