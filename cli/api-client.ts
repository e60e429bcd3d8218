/**
 * The typed client of the retry service's REST API, as `retryctl` and the examples use it. Its types are the API's
 * own zod schemas (api/schemas.ts, domain/task.ts), the same ones the OpenAPI document (GET /openapi.json) is
 * generated from, imported as types only: the client carries no validator, and test/api/client.test.ts checks every
 * request it sends and every answer it reads against the document.
 */
import type { z } from 'zod';
import type {
  BatchResponse,
  BulkRequeueRequest,
  BulkRequeueResponse,
  ErrorResponse,
  HealthResponse,
  SubmitResponse,
  TaskPage as TaskPageSchema,
  TaskStatusResponse,
  TaskSummary as TaskSummarySchema,
  TerminateResponse,
  TransitionResponse,
} from '../api/schemas';
import type { JobAccepted, JobPage as JobPageSchema, JobResponse } from '../api/job-schemas';
import type { DestinationResponse } from '../api/destination-schemas';
import type { RequeueOverrides, TaskRequest } from '../domain/task';

export type { TaskRequest } from '../domain/task';

/** Default API base URL (`--api` / RETRY_API_URL override it). */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** One row of GET /tasks and GET /dead-letters. */
export type TaskSummary = z.output<typeof TaskSummarySchema>;
/** One page of a list; pass `next_page_token` as `page_token` for the next one (null on the last page). */
export type TaskPage = z.output<typeof TaskPageSchema>;
/** GET /tasks/:id: the task's status plus the run it comes from. */
export type TaskStatus = z.output<typeof TaskStatusResponse>;
export type AttemptRecord = NonNullable<TaskStatus['attempts']>[number];
/** POST /tasks. */
export type SubmitResult = z.output<typeof SubmitResponse>;
/** POST /tasks/batch. */
export type BatchResult = z.output<typeof BatchResponse>;
/** POST /tasks/:id/cancel|requeue|retry-now. */
export type TransitionResult = z.output<typeof TransitionResponse>;
/** DELETE /tasks/:id. */
export type TerminateResult = z.output<typeof TerminateResponse>;
/** POST /dead-letters/requeue with dry_run: the count and a sample. */
export type BulkRequeueResult = z.output<typeof BulkRequeueResponse>;
/** 202 answer of a bulk request: the job that does it. */
export type JobStarted = z.output<typeof JobAccepted>;
/** GET /jobs/:id. */
export type Job = z.output<typeof JobResponse>;
/** GET /jobs. */
export type JobPage = z.output<typeof JobPageSchema>;
/** One destination of GET /destinations (and the answer of pause / resume, with `changed`). */
export type Destination = z.output<typeof DestinationResponse> & { changed?: boolean };
/** GET /health. */
export type Health = z.output<typeof HealthResponse>;
/** What a requeue may change (RequeueOverrides in the document). */
export type Overrides = z.input<typeof RequeueOverrides>;
/** The one error body of every non-2xx answer. */
export type ErrorBody = z.output<typeof ErrorResponse>;
type BulkRequest = z.input<typeof BulkRequeueRequest>;

/** Filters of GET /tasks, GET /dead-letters and of a bulk requeue. */
export interface TaskFilter {
  /** Task states, e.g. `['waiting_retry', 'dead_lettered']`. */
  status?: string[];
  destination_type?: string;
  client_id?: string;
  source?: string;
  /** Only the tasks of this ordering key. */
  ordering_key?: string;
}

export interface PageRequest {
  page_size?: number;
  page_token?: string;
}

/** Thrown when the API answers with a non-2xx status; carries the API's `{ error, field, errors }` body. */
export class ApiRequestError extends Error {
  constructor(
    public readonly status: number,
    public readonly method: string,
    public readonly path: string,
    public readonly body: Partial<ErrorBody> | undefined,
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
    ordering_key: filter.ordering_key,
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

  /** POST /tasks: schedules one task (409 when its id is open). */
  submitTask(task: TaskRequest): Promise<SubmitResult> {
    return this.request('POST', '/tasks', { body: task });
  }

  /** POST /tasks/batch: up to 1000 tasks, all validated before any starts. */
  submitBatch(tasks: TaskRequest[]): Promise<BatchResult> {
    return this.request('POST', '/tasks/batch', { body: { tasks } });
  }

  /** DELETE /tasks/:id: ends the task for good (no dead-letter delivery). */
  terminateTask(id: string, reason?: string): Promise<TerminateResult> {
    return this.request('DELETE', `/tasks/${encodeURIComponent(id)}`, { body: reason ? { reason } : {} });
  }

  /** GET /health (a 503 answer is returned, not thrown: it says which part is down). */
  async health(): Promise<Health> {
    try {
      return await this.request<Health>('GET', '/health');
    } catch (err) {
      if (err instanceof ApiRequestError && err.status === 503) return err.body as unknown as Health;
      throw err;
    }
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

  requeueTask(id: string, opts: { reason?: string; overrides?: Overrides } = {}): Promise<TransitionResult> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/requeue`, { body: compact(opts) });
  }

  retryNow(id: string): Promise<TransitionResult> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/retry-now`, { body: {} });
  }

  listDeadLetters(filter: TaskFilter = {}, page: PageRequest = {}): Promise<TaskPage> {
    return this.request('GET', '/dead-letters', { query: { ...filterQuery(filter), ...page } });
  }

  /** POST /dead-letters/requeue: a dry run answers the count at once; otherwise a job starts (202). */
  requeueDeadLetters(
    target: { ids: string[] } | { filter: TaskFilter },
    opts: { dryRun: true; reason?: string; overrides?: Overrides; limit?: number },
  ): Promise<BulkRequeueResult>;
  requeueDeadLetters(
    target: { ids: string[] } | { filter: TaskFilter },
    opts?: { dryRun?: false; reason?: string; overrides?: Overrides; limit?: number },
  ): Promise<JobStarted>;
  requeueDeadLetters(
    target: { ids: string[] } | { filter: TaskFilter },
    opts: { dryRun?: boolean; reason?: string; overrides?: Overrides; limit?: number } = {},
  ): Promise<BulkRequeueResult | JobStarted> {
    // The states and kinds of a filter are what the user typed; the API refuses unknown ones naming the field.
    const filter = 'filter' in target ? (compact({ ...target.filter }) as BulkRequest['filter']) : undefined;
    const body: BulkRequest = compact({
      ...('ids' in target ? { ids: target.ids } : { filter }),
      dry_run: opts.dryRun ?? false,
      reason: opts.reason,
      overrides: opts.overrides,
      limit: opts.limit,
    });
    return this.request('POST', '/dead-letters/requeue', { body });
  }

  /** GET /jobs/:id: a bulk job's state and counts. */
  getJob(id: string): Promise<Job> {
    return this.request('GET', `/jobs/${encodeURIComponent(id)}`);
  }

  /** GET /jobs: this service's bulk jobs, newest first. */
  listJobs(page: PageRequest = {}): Promise<JobPage> {
    return this.request('GET', '/jobs', { query: { ...page } });
  }

  /** POST /jobs/:id/cancel: stops the job after its current batch. */
  cancelJob(id: string, reason?: string): Promise<Job> {
    return this.request('POST', `/jobs/${encodeURIComponent(id)}/cancel`, { body: reason ? { reason } : {} });
  }

  /** GET /destinations: every known destination with its pause state. */
  listDestinations(): Promise<{ items: Destination[] }> {
    return this.request('GET', '/destinations');
  }

  /** POST /destinations/:key/pause. */
  pauseDestination(key: string, body: { reason?: string; by?: string }): Promise<Destination> {
    return this.request('POST', `/destinations/${encodeURIComponent(key)}/pause`, { body: compact(body) });
  }

  /** POST /destinations/:key/resume. */
  resumeDestination(key: string, body: { by?: string; per_second?: number }): Promise<Destination> {
    return this.request('POST', `/destinations/${encodeURIComponent(key)}/resume`, { body: compact(body) });
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
    if (!res.ok) throw new ApiRequestError(res.status, method, path, parsed as Partial<ErrorBody>);
    return parsed as T;
  }
}

/** Drops undefined fields, so request bodies stay minimal (the API rejects unknown keys, not missing ones). */
function compact<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
