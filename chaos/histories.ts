import { Client, Connection } from '@temporalio/client';
import type { Lab } from './lab';

/**
 * Delivery attempts of these tasks that a kill interrupted, read from their workflow histories. Each delivery
 * activity (a task's attempt series, a dead-letter delivery) retries in the server: its closing attempt number says
 * how many runs it took. Every run but the last either reported a failure — a refusal, which the receiver counted
 * (`refused`) — or died without a report, its outcome lost with the worker. Those are the attempts in flight at the
 * kill, whether the receiver had the request yet, was holding it or had answered it, and each may have been
 * delivered once more: the bound on duplicates. A duplicate beyond it would be a delivery the server had recorded as
 * done, sent again.
 */
export async function interruptedAttempts(lab: Lab, ids: string[], refused: number): Promise<number> {
  const connection = await Connection.connect({ address: lab.temporalAddress });
  try {
    const client = new Client({ connection });
    let reruns = 0;
    for (let i = 0; i < ids.length; i += 20) {
      const counts = await Promise.all(
        ids.slice(i, i + 20).map(async (id) => {
          const { events } = await client.workflow.getHandle(id).fetchHistory();
          return (events ?? [])
            .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)
            .reduce((sum, attempt) => sum + Math.max(0, attempt - 1), 0);
        }),
      );
      reruns += counts.reduce((a, b) => a + b, 0);
    }
    return Math.max(0, reruns - refused);
  } finally {
    await connection.close();
  }
}
