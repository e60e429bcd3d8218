import { createHash } from 'node:crypto';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import {
  AttemptKey,
  ClientIdKey,
  DeadLetteredAtKey,
  DestinationTypeKey,
  IsPriorityKey,
  NextAttemptAtKey,
  OrderingKeyKey,
  TaskSourceKey,
  TaskStatusKey,
} from '../../domain/search-attributes';
import { TaskState, parkedStates } from '../../domain/status';
import { closedState, inFlightStates } from '../../domain/visibility';
import { ValidationError } from '../errors';
import type { TaskPage, TaskSummary } from '../schemas';
import { withDeadline, type ApiDeps } from './deps';

/** Filters a list accepts; values were validated by the route's schema (no quotes can reach the query). */
export interface TaskFilter {
  status?: readonly string[];
  destination_type?: string;
  client_id?: string;
  source?: string;
  ordering_key?: string;
  /** Dead-lettered at or after this instant (RFC 3339). */
  dead_lettered_after?: string;
  /** Dead-lettered before this instant (RFC 3339). */
  dead_lettered_before?: string;
  /** Only open (running) executions, e.g. parked dead letters that can still be requeued. */
  openOnly?: boolean;
  /** Only these task ids. */
  ids?: readonly string[];
  /** Only tasks on this task queue. */
  taskQueue?: string;
}

/** A visibility string literal. Values are pre-validated; this guard makes an unescaped quote impossible anyway. */
function literal(value: string): string {
  if (/["'\\\u0000-\u001f]/.test(value)) throw new ValidationError('value cannot contain quotes', 'filter');
  return `"${value}"`;
}

/** Builds the Temporal visibility query for a filter (always restricted to retryTask workflows). */
export function visibilityQuery(f: TaskFilter): string {
  const parts = [`WorkflowType = "retryTask"`];
  if (f.status?.length) parts.push(`(${f.status.map(stateCondition).join(' OR ')})`);
  if (f.destination_type) parts.push(`${DestinationTypeKey.name} = ${literal(f.destination_type)}`);
  if (f.client_id) parts.push(`${ClientIdKey.name} = ${literal(f.client_id)}`);
  if (f.source) parts.push(`${TaskSourceKey.name} = ${literal(f.source)}`);
  if (f.ordering_key) parts.push(`${OrderingKeyKey.name} = ${literal(f.ordering_key)}`);
  if (f.dead_lettered_after) {
    parts.push(`${DeadLetteredAtKey.name} >= ${literal(new Date(f.dead_lettered_after).toISOString())}`);
  }
  if (f.dead_lettered_before) {
    parts.push(`${DeadLetteredAtKey.name} < ${literal(new Date(f.dead_lettered_before).toISOString())}`);
  }
  if (f.openOnly) parts.push(`ExecutionStatus = "Running"`);
  if (f.ids?.length) parts.push(`WorkflowId IN (${f.ids.map(literal).join(', ')})`);
  if (f.taskQueue) parts.push(`TaskQueue = ${literal(f.taskQueue)}`);
  return parts.join(' AND ');
}

/**
 * The visibility condition of one task state. Lean workflows do not record `succeeded` (domain/visibility.ts): a
 * completed execution whose recorded state is an in-flight one succeeded, and an in-flight state holds only while
 * the execution runs.
 */
function stateCondition(state: string): string {
  const key = TaskStatusKey.name;
  const inFlight = `${key} IN (${inFlightStates.map(literal).join(', ')})`;
  if (state === TaskState.Succeeded) {
    return `${key} = ${literal(state)} OR (ExecutionStatus = "Completed" AND ${inFlight})`;
  }
  if (inFlightStates.includes(state as TaskState))
    return `(${key} = ${literal(state)} AND ExecutionStatus = "Running")`;
  return `${key} = ${literal(state)}`;
}

/** The filter of the dead-letter views: parked states, still open. */
export function deadLetterFilter(f: Omit<TaskFilter, 'openOnly' | 'taskQueue'>, taskQueue: string): TaskFilter {
  // The dead letters this service's workers keep: on its TASK_QUEUE (another deployment's parked tasks in the same
  // namespace are not ours to list or requeue).
  return { ...f, status: f.status?.length ? f.status : parkedStates, openOnly: true, taskQueue };
}

/**
 * Page tokens: base64url of `{ q, t }`, where `t` is Temporal's nextPageToken and `q` a digest of the query it
 * belongs to. Temporal answers a garbled token with an opaque UNKNOWN error (which the SDK retries); the envelope
 * lets the API refuse a foreign or edited token with a 400 first.
 */
const queryDigest = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 16);

export function encodePageToken(query: string, token: Uint8Array): string {
  return Buffer.from(JSON.stringify({ q: queryDigest(query), t: Buffer.from(token).toString('base64') })).toString(
    'base64url',
  );
}

export function decodePageToken(query: string, token: string | undefined): Uint8Array | undefined {
  if (token === undefined) return undefined;
  let parsed: { q?: unknown; t?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { q?: unknown; t?: unknown };
  } catch {
    throw new ValidationError('page_token is not a token this API issued', 'page_token');
  }
  if (typeof parsed?.t !== 'string' || typeof parsed.q !== 'string') {
    throw new ValidationError('page_token is not a token this API issued', 'page_token');
  }
  if (parsed.q !== queryDigest(query)) {
    throw new ValidationError('page_token belongs to a list with other filters', 'page_token');
  }
  return Buffer.from(parsed.t, 'base64');
}

/**
 * One page of tasks from Temporal visibility. Uses the raw ListWorkflowExecutions call so the page token
 * round-trips (base64url of Temporal's nextPageToken). Visibility is eventually consistent (about a second on the
 * dev server): a task started a moment ago may not be listed yet.
 */
export async function listTasks(
  deps: ApiDeps,
  filter: TaskFilter,
  page: { page_size: number; page_token?: string },
): Promise<TaskPage> {
  const query = visibilityQuery(filter);
  const nextPageToken = decodePageToken(query, page.page_token);
  const response = await withDeadline(deps, () =>
    deps.client.workflowService.listWorkflowExecutions({
      namespace: deps.namespace,
      query,
      pageSize: page.page_size,
      nextPageToken,
    }),
  );
  const converter = deps.client.workflow.options.loadedDataConverter;
  const items = await Promise.all(
    (response.executions ?? []).map(async (raw) =>
      summary(await executionInfoFromRaw(raw, converter, raw, deps.namespace)),
    ),
  );
  const token = response.nextPageToken?.length ? encodePageToken(query, response.nextPageToken) : null;
  return { items, next_page_token: token };
}

function summary(info: Awaited<ReturnType<typeof executionInfoFromRaw>>): TaskSummary {
  const sa = info.typedSearchAttributes;
  const nextAttempt = sa.get(NextAttemptAtKey);
  const out: TaskSummary = {
    task_id: info.workflowId,
    run_id: info.runId,
    workflow_status: info.status.name,
    start_time: info.startTime.toISOString(),
  };
  const state = closedState(info.status.name, sa.get(TaskStatusKey));
  if (state !== undefined) out.state = state;
  const destinationType = sa.get(DestinationTypeKey);
  if (destinationType !== undefined) out.destination_type = destinationType;
  const clientId = sa.get(ClientIdKey);
  if (clientId !== undefined) out.client_id = clientId;
  const source = sa.get(TaskSourceKey);
  if (source !== undefined) out.source = source;
  const attempt = sa.get(AttemptKey);
  if (attempt !== undefined) out.attempt = attempt;
  if (nextAttempt !== undefined) out.next_attempt_at = nextAttempt.toISOString();
  const priority = sa.get(IsPriorityKey);
  if (priority !== undefined) out.is_priority = priority;
  const orderingKey = sa.get(OrderingKeyKey);
  if (orderingKey !== undefined) out.ordering_key = orderingKey;
  if (info.closeTime) out.close_time = info.closeTime.toISOString();
  return out;
}

/** How many tasks match a filter (visibility count). */
export async function countTasks(deps: ApiDeps, filter: TaskFilter): Promise<number> {
  const { count } = await withDeadline(deps, () => deps.client.workflow.count(visibilityQuery(filter)));
  return count;
}
