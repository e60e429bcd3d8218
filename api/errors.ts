import { isGrpcDeadlineError, isGrpcServiceError } from '@temporalio/client';
import type { FieldError } from '../domain/task';

/**
 * Errors the use cases throw; the one error middleware (error-middleware.ts) maps each class to a status code and the
 * one error body `{ "error": "...", "field": "...", "errors": [...] }` (api/schemas.ts ErrorResponse; seed 002 style).
 * Anything else becomes a 500 without details.
 */

/** Base class: carries the HTTP status and extra JSON fields for the response body. */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  /** Extra fields merged into the JSON body after `error`. */
  readonly body: Record<string, unknown> = {};
}

/** Thrown when a request body, path or query parameter is invalid; `field` is the dotted path of the first problem. */
export class ValidationError extends ApiError {
  readonly status = 400;
  constructor(
    message: string,
    public readonly field: string,
    public readonly errors: FieldError[] = [{ field, error: message }],
  ) {
    super(message);
    Object.assign(this.body, { field, errors });
  }
}

/** Thrown when a task id has no workflow execution. */
export class TaskNotFoundError extends ApiError {
  readonly status = 404;
  constructor(public readonly taskId: string) {
    super(`task ${taskId} not found`);
    Object.assign(this.body, { task_id: taskId });
  }
}

/** Thrown when a job id has no bulk-job workflow. */
export class JobNotFoundError extends ApiError {
  readonly status = 404;
  constructor(public readonly jobId: string) {
    super(`job ${jobId} not found`);
  }
}

/**
 * Thrown when a task cannot do what was asked in its current state: an id already open, an invalid transition
 * (the workflow's update validator said no), or a closed task. `state` is the task's current state when known.
 */
export class ConflictError extends ApiError {
  readonly status = 409;
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(message);
    Object.assign(this.body, extra);
  }
}

/** Thrown when Temporal cannot be reached (gRPC UNAVAILABLE or the request's deadline passed). */
export class TemporalUnavailableError extends ApiError {
  readonly status = 503;
  constructor(public readonly reason: string) {
    super('Temporal is unreachable, try again later');
  }
}

/** Thrown when a running job's progress can only come from its workflow (started before progress memos) and no worker answered. */
export class JobProgressUnavailableError extends ApiError {
  readonly status = 503;
  constructor(public readonly jobId: string) {
    super(`job ${jobId} runs, but no worker answered for its progress; try again later`);
  }
}

/** Thrown when a request lacks credentials (`Authorization: Bearer <key>` missing or malformed). */
export class UnauthorizedError extends ApiError {
  readonly status = 401;
  constructor() {
    super('missing bearer token: send "Authorization: Bearer <api key>"');
  }
}

/** Thrown when a request's bearer token is not one of the configured API keys. */
export class ForbiddenError extends ApiError {
  readonly status = 403;
  constructor() {
    super('the bearer token is not a valid API key');
  }
}

/**
 * Thrown when an ack or nack carries a token that was not issued for this task's deliveries (forged, another task's,
 * or made under another ACK_SECRET), or when this API has no ACK_SECRET to check it with. The task is unaffected.
 */
export class AckTokenRejectedError extends ApiError {
  readonly status = 403;
  constructor(message: string) {
    super(message);
    Object.assign(this.body, { field: 'token' });
  }
}

/** Thrown when a request with a body is not JSON; `field` is the header at fault. */
export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  constructor(contentType: string) {
    super(`request bodies must be application/json, got ${contentType}`);
    Object.assign(this.body, { field: 'content-type' });
  }
}

/** Thrown for an unknown route. */
export class RouteNotFoundError extends ApiError {
  readonly status = 404;
  constructor(method: string, path: string) {
    super(`no route for ${method} ${path}`);
  }
}

/** Thrown for a method a known path does not serve; the middleware has set `Allow`. */
export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`method ${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`);
  }
}

/** Thrown when a batch has invalid items; nothing was started. `items` lists every invalid item with its errors. */
export class BatchRejectedError extends ApiError {
  readonly status = 400;
  constructor(
    public readonly items: { index: number; id?: string; errors: FieldError[] }[],
    total: number,
  ) {
    const first = items[0];
    super(
      `${items.length} of ${total} tasks are invalid; none was started` +
        (first ? ` (first: tasks[${first.index}].${first.errors[0]?.field}: ${first.errors[0]?.error})` : ''),
    );
    const errors = items.flatMap((item) =>
      item.errors.map((e) => ({ field: `tasks.${item.index}.${e.field}`, error: e.error })),
    );
    Object.assign(this.body, { field: errors[0]?.field ?? 'tasks', errors, items });
  }
}

/** gRPC codes that mean "Temporal is not there right now" rather than "your request is wrong". */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
const unavailableCodes = new Set<number>([GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED]);

/** True when an error (or one of its causes) says Temporal cannot be reached. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TemporalUnavailableError) return true;
    if (isGrpcDeadlineError(e)) return true;
    if (isGrpcServiceError(e) && unavailableCodes.has(e.code)) return true;
  }
  return false;
}

/** Thrown when a destination has no pause state: it was never paused and no worker reported it. */
export class DestinationNotFoundError extends ApiError {
  readonly status = 404;
  constructor(public readonly key: string) {
    super(`destination ${key} is not known: it was never paused and no worker reported it`);
    Object.assign(this.body, { key });
  }
}
