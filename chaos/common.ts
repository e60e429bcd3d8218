import type { Figures } from './figures';
import { until, type Lab } from './lab';
import type { ChaosReceiver } from './receiver';

/** What every scenario gets: the lab (stack), the receiver and the number of tasks to run. */
export interface ScenarioContext {
  lab: Lab;
  receiver: ChaosReceiver;
  tasks: number;
}
export type Scenario = (ctx: ScenarioContext) => Promise<Figures>;

/** How long a scenario waits for every delivery after its last fault, milliseconds. */
export const SETTLE_MS = 180_000;

/** Ids unique to one scenario run. */
export const idsFor = (scenario: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${scenario}-${Date.now().toString(36)}-${i}`);

/**
 * Waits until every id has a delivery on `prefix` and its task has settled (succeeded, or parked after its dead-letter
 * delivery), or SETTLE_MS passes: a re-sent attempt of an unknown outcome arrives only after the original one, so
 * the duplicates are counted once the tasks are done, not at their first arrival.
 */
export async function settle(receiver: ChaosReceiver, prefix: string, ids: string[], apiUrl: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  await until(() => ids.every((id) => receiver.deliveries(prefix).has(id)), SETTLE_MS);
  await tasksSettled(apiUrl, ids, deadline - Date.now());
}

/** Waits until every task of `ids` has succeeded or parked (GET /tasks/{id}), or `timeoutMs` passes. */
export async function tasksSettled(apiUrl: string, ids: string[], timeoutMs: number): Promise<void> {
  const pending = new Set(ids);
  await until(async () => {
    for (const id of [...pending]) if (settledStates.includes(await stateOf(apiUrl, id))) pending.delete(id);
    return pending.size === 0;
  }, timeoutMs);
}

const settledStates = ['succeeded', 'dead_lettered'];

async function stateOf(apiUrl: string, id: string): Promise<string> {
  const res = await fetch(`${apiUrl}/tasks/${encodeURIComponent(id)}`).catch(() => undefined);
  if (!res?.ok) return 'unknown';
  return ((await res.json()) as { state?: string }).state ?? 'unknown';
}
