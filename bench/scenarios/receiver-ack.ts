import { randomUUID } from 'node:crypto';
import { startTask } from '../../client/tasks';
import { freePort } from '../../scripts/stack/process';
import { AckHeader } from '../../domain/ack';
import { TaskInput } from '../../domain/task';
import { numberArg, type Scenario } from '../lib/cli';
import { historyLengths, runPool, waitAllClosed } from '../lib/engine';
import { startBenchEnv, type BenchEnv } from '../lib/env';
import { saveResults, type ResultRow } from '../lib/results';
import { startOurService } from '../lib/service';
import { median } from '../lib/stats';
import { ReceiverServer } from '../../testkit/http-receiver';

/** Issue 16: the ack round trip may add at most this many workflow tasks per attempt. */
export const ACK_EXTRA_WORKFLOW_TASKS = 1;

/**
 * A receiver that answers 202 at once and acks each delivery a moment later through the X-Ack-Url it was given (as a
 * queue-behind-the-endpoint receiver does); deliveries without ack headers just get 200.
 */
async function ackingReceiver(delayMs: number) {
  let acked = 0;
  const pending: Promise<void>[] = [];
  const server = await ReceiverServer.start(({ headers }, res) => {
    const url = headers[AckHeader.Url];
    const token = headers[AckHeader.Token];
    res.writeHead(typeof url === 'string' ? 202 : 200).end();
    if (typeof url !== 'string' || typeof token !== 'string') return;
    pending.push(
      new Promise<void>((resolve) => setTimeout(resolve, delayMs))
        .then(() =>
          fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token }),
          }),
        )
        .then((r) => (r.ok ? void acked++ : console.error(`ack answered ${r.status}`)))
        .catch((err: unknown) => console.error('ack failed', err)),
    );
  });
  return {
    url: server.origin,
    /** Acks the API answered 200, once every ack sent so far has its answer. */
    acked: async () => (await Promise.all(pending), acked),
    close: () => server.stop(),
  };
}

/**
 * History cost of receiver acknowledgement: n first-try HTTP tasks without and n with `ack_timeout`, acked by the
 * receiver through the API; median history events and workflow tasks per task, and the extra per acked delivery.
 */
export async function measureReceiverAck(env: BenchEnv, n: number, workflowBundlePath?: string): Promise<ResultRow[]> {
  const receiver = await ackingReceiver(20);
  const port = await freePort();
  const ours = await startOurService(env, {
    api: true,
    workflowBundlePath,
    config: { API_PORT: String(port), ACK_SECRET: `bench-${randomUUID()}` },
  });
  try {
    const ids = { plain: [] as string[], acked: [] as string[] };
    for (const side of ['plain', 'acked'] as const) {
      await runPool(n, 16, async (i) => {
        const id = `ack-bench-${side}-${i}-${randomUUID()}`;
        ids[side].push(id);
        const destination = { url: `${receiver.url}/hook`, ...(side === 'acked' ? { ack_timeout: 300 } : {}) };
        const task = TaskInput.parse({
          id,
          source: 'bench',
          client_id: 'bench',
          destination_type: 'http',
          destination,
          message_data: '{"event":"order.created"}',
          max_retries: 3,
          base_delay: 0,
        });
        await startTask(env.client, ours.taskQueue, task);
      });
      await waitAllClosed(env.client, ours.taskQueue, 120_000);
    }
    // The API answers an ack once the workflow has acted on it, so the tasks may close before the receiver hears.
    const acked = await receiver.acked();
    if (acked !== n) throw new Error(`${acked} of ${n} acks were taken`);
    const events = {
      plain: await historyLengths(env.client, ids.plain),
      acked: await historyLengths(env.client, ids.acked),
    };
    const tasks = {
      plain: await workflowTasks(env, ids.plain.slice(0, 20)),
      acked: await workflowTasks(env, ids.acked.slice(0, 20)),
    };
    const row = (metric: string, unit: string, ours: number, baseline: number): ResultRow => ({
      scenario: 'receiver-ack',
      case: `n=${n}`,
      metric,
      unit,
      ours,
      baseline,
    });
    return [
      row(
        'history events per acked delivery (baseline: plain 2xx)',
        'events',
        median(events.acked),
        median(events.plain),
      ),
      {
        ...row(
          'workflow tasks per acked delivery (baseline: plain 2xx)',
          'tasks',
          median(tasks.acked),
          median(tasks.plain),
        ),
        target: `ours ≤ baseline + ${ACK_EXTRA_WORKFLOW_TASKS}`,
        target_met: median(tasks.acked) <= median(tasks.plain) + ACK_EXTRA_WORKFLOW_TASKS,
      },
    ];
  } finally {
    await ours.stop();
    await receiver.close();
  }
}

/** Completed workflow tasks of each workflow. */
async function workflowTasks(env: BenchEnv, ids: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) {
    const { events } = await env.client.workflow.getHandle(id).fetchHistory();
    out.push(events?.filter((e) => e.workflowTaskCompletedEventAttributes).length ?? 0);
  }
  return out;
}

/** `npm run bench -- receiver-ack [--quick] [--n N]`. */
export const receiverAckScenario: Scenario = {
  describe: 'receiver-ack: history events and workflow tasks per acked delivery vs a plain 2xx',
  async run({ quick, args }) {
    const n = numberArg(args, '--n', quick ? 10 : 200);
    const env = await startBenchEnv();
    try {
      saveResults('receiver-ack', await measureReceiverAck(env, n), { n, ack_delay_ms: 20 });
    } finally {
      await env.stop();
    }
  },
};
