/**
 * What the Temporal server did for a side, from the dev server's Prometheus counters: its workflow tasks, the signals
 * it took (signal and signal-with-start), and its writes of workflow state (create and update of an execution, the
 * store's transactions that cost it most). Per task, these say where an ordered task's extra server CPU goes.
 *
 * Written by hand: only a few counters are needed, summed over their labels, from Prometheus' line format
 * (`name{label="value",…} number`); no parser library is needed for that.
 */

/** Counter totals by `name/operation/service`. */
export type ServerOps = Map<string, number>;

/** Per task between two snapshots. */
export interface ServerOpsPerTask {
  workflowTasks: number;
  signals: number;
  writes: number;
}

/** Reads the counters at `metricsUrl`; undefined when there is none or it cannot be read (the figures are extra). */
export async function serverOps(metricsUrl: string | undefined): Promise<ServerOps | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return undefined;
    return parseCounters(await response.text());
  } catch {
    return undefined;
  }
}

/**
 * The counters once the server has settled: read every second until the sums the figures use stop growing (the last
 * workflow tasks complete after the last delivery arrives, and the server exports its counters every second or so),
 * at most `maxMs`.
 */
export async function settledOps(metricsUrl: string | undefined, maxMs = 20_000): Promise<ServerOps | undefined> {
  const deadline = Date.now() + maxMs;
  let last = await serverOps(metricsUrl);
  while (last && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const next = await serverOps(metricsUrl);
    if (!next) return last;
    const same = Object.values(opsPerTask(last, next, 1)!).every((grew) => grew === 0);
    last = next;
    if (same) break;
  }
  return last;
}

/** Sums `service_requests` and `persistence_requests` by name, operation and service over their other labels. */
export function parseCounters(text: string): ServerOps {
  const totals: ServerOps = new Map();
  for (const line of text.split('\n')) {
    const match = /^(service_requests|persistence_requests)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, labels, value] = match;
    const label = (key: string) => new RegExp(`(?:^|,)${key}="([^"]*)"`).exec(labels!)?.[1] ?? '';
    const key = `${name}/${label('operation')}/${label('service_name')}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(value));
  }
  return totals;
}

/** The counters' growth from `before` to `after`, per task; undefined when either snapshot is missing. */
export function opsPerTask(
  before: ServerOps | undefined,
  after: ServerOps | undefined,
  tasks: number,
): ServerOpsPerTask | undefined {
  if (!before || !after || tasks <= 0) return undefined;
  const grew = (...keys: string[]) =>
    keys.reduce((sum, key) => sum + ((after.get(key) ?? 0) - (before.get(key) ?? 0)), 0) / tasks;
  return {
    workflowTasks: grew('service_requests/RespondWorkflowTaskCompleted/frontend'),
    signals: grew(
      'service_requests/SignalWorkflowExecution/frontend',
      'service_requests/SignalWithStartWorkflowExecution/frontend',
    ),
    writes: grew(
      'persistence_requests/CreateWorkflowExecution/history',
      'persistence_requests/UpdateWorkflowExecution/history',
    ),
  };
}
