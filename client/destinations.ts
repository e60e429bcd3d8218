import {
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import {
  DestinationMemoKey,
  DestinationWorkflowType,
  breakerReportSignal,
  destinationWorkflowId,
  pauseDestinationUpdate,
  resumeDestinationUpdate,
  type BreakerReport,
  type DestinationChange,
  type DestinationView,
  type PauseRequest,
  type ResumeRequest,
} from '../domain/destination-pause';
import type { destinationControl } from '../workflows';
import { emitLifecycleEvent, type NotifyConfig } from '../activities/lifecycle-events';

/**
 * Destination pause and resume as a Temporal client does them (domain/destination-pause.ts): the API's routes and
 * the workers' automatic pause go through here, so both take effect the same way.
 */

/** Thrown when a destination has no control workflow (it was never paused nor reported). */
export class DestinationNotFoundError extends Error {
  constructor(public readonly key: string) {
    super(`destination ${key} is not known: it was never paused and no worker reported it`);
  }
}

/** Where a destination is addressed: the service's task queue and the destination key. */
export interface DestinationRef {
  client: Client;
  taskQueue: string;
  key: string;
  /** Where `destination.paused` / `destination.resumed` go (absent: no notification). */
  notify?: NotifyConfig;
}

function startOperation(ref: DestinationRef) {
  return new WithStartWorkflowOperation<typeof destinationControl>(DestinationWorkflowType, {
    workflowId: destinationWorkflowId(ref.taskQueue, ref.key),
    taskQueue: ref.taskQueue,
    args: [{ key: ref.key }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `pause state of destination ${ref.key}`,
  });
}

/** Pauses the destination (starting its control workflow if needed); a repeat changes nothing. */
export async function pauseDestination(ref: DestinationRef, req: PauseRequest): Promise<DestinationChange> {
  const change = await ref.client.workflow.executeUpdateWithStart(pauseDestinationUpdate, {
    args: [req],
    startWorkflowOperation: startOperation(ref),
  });
  if (change.changed) await destinationChanged(ref, 'paused', change.view);
  return change;
}

/**
 * Resumes the destination: its waiting tasks are released in due order at `per_second`; a repeat changes nothing.
 * @throws DestinationNotFoundError when the destination has no control workflow
 */
export async function resumeDestination(ref: DestinationRef, req: ResumeRequest): Promise<DestinationChange> {
  try {
    const handle = ref.client.workflow.getHandle(destinationWorkflowId(ref.taskQueue, ref.key));
    const change = await handle.executeUpdate(resumeDestinationUpdate, { args: [req] });
    if (change.changed) await destinationChanged(ref, 'resumed', change.view);
    return change;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new DestinationNotFoundError(ref.key);
    throw err;
  }
}

/**
 * The one place where a pause or a resume has taken effect (called once per change, not for repeats): lifecycle
 * notifications (`destination.paused`, `destination.resumed`) are sent from here. Nothing else happens on a change.
 */
export async function destinationChanged(
  ref: DestinationRef,
  event: 'paused' | 'resumed',
  view: DestinationView,
): Promise<void> {
  if (!ref.notify) return;
  const by = event === 'paused' ? view.paused_by : view.resumed_by;
  await emitLifecycleEvent(ref.client, ref.notify, {
    type: event === 'paused' ? 'destination.paused' : 'destination.resumed',
    subject: ref.key,
    details: {
      tasks_waiting: view.tasks_waiting,
      ...(by ? { by } : {}),
      ...(event === 'paused' && view.reason ? { reason: view.reason } : {}),
      ...(event === 'resumed' && view.resume_per_second ? { per_second: view.resume_per_second } : {}),
    },
  });
}

/** A worker's breaker change for the destination (starts the control workflow when the destination is new). */
export async function reportBreaker(ref: DestinationRef, report: BreakerReport): Promise<void> {
  await ref.client.workflow.signalWithStart<typeof destinationControl, [BreakerReport]>(DestinationWorkflowType, {
    workflowId: destinationWorkflowId(ref.taskQueue, ref.key),
    taskQueue: ref.taskQueue,
    args: [{ key: ref.key }],
    signal: breakerReportSignal,
    signalArgs: [report],
    staticSummary: `pause state of destination ${ref.key}`,
  });
}

/** Every known destination of the task queue with its view (visibility: the control workflows' memos). */
export async function listDestinations(client: Client, taskQueue: string): Promise<DestinationView[]> {
  const queue = taskQueue.replace(/["\\]/g, '');
  const query = `WorkflowType = "${DestinationWorkflowType}" AND ExecutionStatus = "Running" AND TaskQueue = "${queue}"`;
  const views: DestinationView[] = [];
  for await (const info of client.workflow.list({ query })) {
    const view = info.memo?.[DestinationMemoKey] as DestinationView | undefined;
    if (view) views.push(view);
  }
  return views.sort((a, b) => a.key.localeCompare(b.key));
}
