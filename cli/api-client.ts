/**
 * A small client of the retry service's REST API, as `retryctl` uses it. It shares only types with the server: the
 * answer shapes below are what the API documents (GET /openapi.json); the task status is the domain's own type.
 */
import type { TaskStatus as DomainTaskStatus } from '../domain/status';

/** Default API base URL (`--api` / RETRY_API_URL override it). */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** One row of GET /tasks and GET /dead-letters. */
export interface TaskSummary {
  task_id: string;
  run_id?: string;
  state?: string;
  destination_type?: string;
  client_id?: string;
  source?: string;
  attempt?: number;
  next_attempt_at?: string;
  is_priority?: boolean;
  workflow_status?: string;
  start_time?: string;
  close_time?: string;
}

export interface TaskPage {
  items: TaskSummary[];
  /** Pass as `page_token` for the next page; null on the last page. */
  next_page_token: string | null;
}

export type { AttemptRecord } from '../domain/status';

/** GET /tasks/:id: the workflow's status (domain/status.ts) plus the run it comes from. */
export type TaskStatus = DomainTaskStatus & {
  workflow?: { run_id: string; status: string; start_time: string; close_time?: string };
};

/** POST /tasks/:id/cancel|requeue|retry-now. */
export interface TransitionResult {
  message: string;
  task_id: string;
  previous_state?: string;
  state?: string;
}

/** POST /dead-letters/requeue. */
export interface BulkRequeueResult {
  dry_run: boolean;
  count: number;
  skipped?: { id: string; reason: string; state?: string }[];
}

/** Filters of GET /tasks, GET /dead-letters and of a bulk requeue. */
export interface TaskFilter {
  /** Task states, e.g. `['waiting_retry', 'dead_lettered']`. */
  status?: string[];
  destination_type?: string;
  client_id?: string;
  source?: string;
}

export interface PageRequest {
  page_size?: number;
  page_token?: string;
}

/** Thrown when the API answers with a non-2xx status; carries the API's `{ error, field }` body. */
export class ApiRequestError extends Error {
  constructor(
    public readonly status: number,
    public readonly method: string,
    public readonly path: string,
    public readonly body: { error?: string; field?: string; [key: string]: unknown } | undefined,
  ) {
    const what = body?.error ?? `HTTP ${status}`;
    super(`${method} ${path} failed (${status}): ${what}${body?.field ? ` (field: ${body.field})` : ''}`);
  }
}

/** Thrown when the API cannot be reached at all (refused, DNS, timeout). */
export class ApiUnreachableError extends Error {
  constructor(
    public readonly baseUrl: string,
    cause: unknown,
  ) {
    const reason = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as Error)?.message ?? String(cause);
    super(`cannot reach the API at ${baseUrl}: ${reason}`);
  }
}

export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. @default DEFAULT_API_URL */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** Per-request timeout, milliseconds. @default 30000 */
  timeoutMs?: number;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined>;

function filterQuery(filter: TaskFilter): Query {
  return {
    status: filter.status?.length ? filter.status.join(',') : undefined,
    destination_type: filter.destination_type,
    client_id: filter.client_id,
    source: filter.source,
  };
}

/** Typed calls of the REST API. Every method throws {@link ApiRequestError} or {@link ApiUnreachableError}. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ApiClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
    this.apiKey = opts.apiKey || undefined;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  listTasks(filter: TaskFilter = {}, page: PageRequest = {}): Promise<TaskPage> {
    return this.request('GET', '/tasks', { query: { ...filterQuery(filter), ...page } });
  }

  getTask(id: string): Promise<TaskStatus> {
    return this.request('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  cancelTask(id: string, reason?: string): Promise<TransitionResult> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/cancel`, { body: reason ? { reason } : {} });
  }

  requeueTask(
    id: string,
    opts: { reason?: string; overrides?: Record<string, unknown> } = {},
  ): Promise<TransitionResult> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/requeue`, { body: compact(opts) });
  }

  retryNow(id: string): Promise<TransitionResult> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/retry-now`, { body: {} });
  }

  listDeadLetters(filter: TaskFilter = {}, page: PageRequest = {}): Promise<TaskPage> {
    return this.request('GET', '/dead-letters', { query: { ...filterQuery(filter), ...page } });
  }

  requeueDeadLetters(
    target: { ids: string[] } | { filter: TaskFilter },
    opts: { dryRun?: boolean; reason?: string; overrides?: Record<string, unknown>; limit?: number } = {},
  ): Promise<BulkRequeueResult> {
    const body = compact({
      ...('ids' in target ? { ids: target.ids } : { filter: compact({ ...target.filter }) }),
      dry_run: opts.dryRun ?? false,
      reason: opts.reason,
      overrides: opts.overrides,
      limit: opts.limit,
    });
    return this.request('POST', '/dead-letters/requeue', { body });
  }

  /** Sends one request; JSON in, JSON out. */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new ApiUnreachableError(this.baseUrl, err);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
    if (!res.ok) throw new ApiRequestError(res.status, method, path, parsed as ApiRequestError['body']);
    return parsed as T;
  }
}

/** Drops undefined fields, so request bodies stay minimal (the API rejects unknown keys, not missing ones). */
function compact<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
