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

/** Waits until every id has a delivery on `prefix` (or SETTLE_MS passes), then a little longer for duplicates. */
export async function settle(receiver: ChaosReceiver, prefix: string, ids: string[]): Promise<void> {
  await until(() => ids.every((id) => receiver.deliveries(prefix).has(id)), SETTLE_MS);
  // A re-sent attempt of an unknown outcome arrives one backoff after its first copy: give it time to show.
  await new Promise((r) => setTimeout(r, 5_000));
}
