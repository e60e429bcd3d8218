import { z } from 'zod';
import { destinationTypes } from '../domain/destination';
import { RequeueOverrides, TaskInput } from '../domain/task';
import { allTaskStates, parkedStates, type TaskState, type TaskStatus } from '../domain/status';
import { CONTROL_OR_BIDI, exactlyOneOf, maxChars, taskIdentifier } from '../domain/text-rules';

/**
 * The API's own request and response schemas, next to the shared task schema (domain/task.ts). Routes parse with
 * these; api/openapi.ts turns the same objects into the OpenAPI document. Request objects are strict (an unknown
 * field answers 400 naming it); response objects are strict too, so the contract tests catch an undocumented field.
 */

/** Most tasks a batch may carry (seed 001). */
export const MAX_BATCH = 1000;
/** Largest page of a list. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 50;
/** Most ids one bulk request lists. */
export const MAX_BULK_REQUEUE = 10_000;
/** Most tasks one bulk job selected by a filter touches. */
export const MAX_JOB_TASKS = 1_000_000;

/**
 * A free-text filter value that goes into a visibility query. Quotes, backslashes and control characters are
 * rejected rather than escaped: ids and names never need them, and rejecting is the one way that cannot be wrong.
 */
const filterValue = (what: string) =>
  z.string().regex(new RegExp(`^[^"'\\\\${CONTROL_OR_BIDI}]{1,256}$`, 'u'), {
    error: (iss) =>
      iss.input === ''
        ? `${what} cannot be empty`
        : `${what} must be 1-256 characters without quotes, backslashes, control or bidirectional formatting characters`,
  });

/** Comma-separated task states, e.g. `waiting_retry,dead_lettered` (spaces around the commas allowed). */
const stateList = (allowed: readonly TaskState[]) => {
  const one = `(?:${allowed.join('|')})`;
  return z
    .string()
    .regex(new RegExp(`^ *${one} *(?:, *${one} *)*$`), `status must be one of ${allowed.join(', ')}, comma-separated`)
    .transform((v) => v.split(',').map((s) => s.trim()) as TaskState[]);
};

/** Filters every list and bulk request shares. */
export const filterFields = {
  destination_type: z
    .enum(destinationTypes, { error: `destination_type must be ${destinationTypes.map((t) => `"${t}"`).join(' or ')}` })
    .optional(),
  client_id: filterValue('client_id').optional(),
  source: filterValue('source').optional(),
  ordering_key: filterValue('ordering_key').optional(),
};

/** Paging of every list. */
export const pageFields = {
  page_size: z.coerce
    .number({ error: 'page_size must be a number' })
    .int('page_size must be an integer')
    .min(1, 'page_size must be at least 1')
    .max(MAX_PAGE_SIZE, `page_size cannot exceed ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
  /** Opaque token from the previous page's `next_page_token`. */
  page_token: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'page_token is not a token this API issued')
    .optional(),
};

/** GET /tasks query. */
export const ListTasksQuery = z.object({
  /** Comma-separated states (the TaskStatus search attribute). */
  status: stateList(allTaskStates).optional(),
  ...filterFields,
  ...pageFields,
});
export type ListTasksQuery = z.output<typeof ListTasksQuery>;

/** GET /dead-letters query: parked tasks only (still open, so they can be requeued). */
export const ListDeadLettersQuery = z.object({
  status: stateList(parkedStates).optional(),
  ...filterFields,
  ...pageFields,
});
export type ListDeadLettersQuery = z.output<typeof ListDeadLettersQuery>;

const instant = (field: string) =>
  z.iso.datetime({ offset: true, error: `${field} must be an RFC 3339 date-time, e.g. 2026-12-01T09:00:00Z` });

/**
 * Time range of the dead-lettering (the DeadLetteredAt search attribute), for the bulk filters. Tasks dead-lettered
 * before the service recorded it have no such time and never match a range.
 */
export const deadLetteredRangeFields = {
  /** Only tasks dead-lettered at or after this instant (RFC 3339). */
  dead_lettered_after: instant('dead_lettered_after').optional(),
  /** Only tasks dead-lettered before this instant (RFC 3339); must be later than `dead_lettered_after`. */
  dead_lettered_before: instant('dead_lettered_before').optional(),
};

/** dead_lettered_after < dead_lettered_before: a comparison of two fields, which JSON Schema cannot state. */
export function checkDeadLetteredRange(
  v: { dead_lettered_after?: string; dead_lettered_before?: string },
  ctx: z.RefinementCtx,
): void {
  if (v.dead_lettered_after === undefined || v.dead_lettered_before === undefined) return;
  if (Date.parse(v.dead_lettered_after) >= Date.parse(v.dead_lettered_before)) {
    ctx.addIssue({
      code: 'custom',
      path: ['dead_lettered_before'],
      message: 'dead_lettered_before must be later than dead_lettered_after',
    });
  }
}

/** A bulk operation's filter: tasks in `states` (a list, each named in the error), plus the common filter fields. */
export function bulkFilter(states: readonly TaskState[]) {
  return z
    .strictObject({
      status: z
        .array(z.enum(states as [TaskState, ...TaskState[]], { error: `status must be one of ${states.join(', ')}` }))
        .min(1)
        .optional(),
      ...filterFields,
      ...deadLetteredRangeFields,
    })
    .superRefine(checkDeadLetteredRange)
    .describe('dead_lettered_before must be later than dead_lettered_after when both are given');
}

/** Filter of a bulk requeue. `{}` means every dead letter. */
export const DeadLetterFilter = bulkFilter(parkedStates);
export type DeadLetterFilter = z.output<typeof DeadLetterFilter>;

const reason = maxChars(1024, 'reason is longer than 1024 characters').optional();

/** Fields of every bulk request (a requeue of dead letters, a cancel of tasks); each also takes a `filter`. */
export const bulkFields = {
  ids: z
    .array(taskIdentifier('ids'))
    .min(1, 'ids cannot be empty')
    .max(MAX_BULK_REQUEUE, `ids cannot list more than ${MAX_BULK_REQUEUE} tasks`)
    .optional(),
  reason,
  /** Count what would be touched and show a sample; change nothing. @default false */
  dry_run: z.boolean({ error: 'dry_run must be a boolean' }).default(false),
  /** Most tasks a filter touches. @default 1000 */
  limit: z.number().int().min(1).max(MAX_JOB_TASKS).default(1000),
};

/** POST /dead-letters/requeue body: `ids` or `filter` (exactly one). */
export const BulkRequeueRequest = exactlyOneOf(
  z.strictObject({ ...bulkFields, filter: DeadLetterFilter.optional(), overrides: RequeueOverrides.optional() }),
  ['ids', 'filter'],
  'give either ids or filter',
);
export type BulkRequeueRequest = z.output<typeof BulkRequeueRequest>;

/** POST /tasks/:id/requeue body (optional). */
export const RequeueRequest = z.strictObject({ overrides: RequeueOverrides.optional(), reason });
/** POST /tasks/:id/cancel and DELETE /tasks/:id body (optional). */
export const ReasonRequest = z.strictObject({ reason });

/** The X-Ack-Token a delivery carried (opaque to the receiver). */
const ackToken = z
  .string({ error: 'token is required: the X-Ack-Token of the delivery' })
  .min(1, 'token is required: the X-Ack-Token of the delivery')
  .max(200, 'token is longer than 200 characters');

/** POST /tasks/:id/ack body (the receiver confirms the delivery that carried the token). */
export const AckRequest = z.strictObject({ token: ackToken });
/** POST /tasks/:id/nack body: the delivery failed at the receiver; `retryable: false` dead-letters at once. */
export const NackRequest = z.strictObject({
  token: ackToken,
  reason: z
    .string({ error: 'reason is required: why the receiver failed the delivery' })
    .min(1, 'reason is required: why the receiver failed the delivery')
    .max(1024, 'reason is longer than 1024 characters'),
  /** @default true */
  retryable: z.boolean({ error: 'retryable must be a boolean' }).default(true),
});

/** POST /tasks/batch body as validated first (each item is then checked against TaskInput). */
export const BatchEnvelope = z.strictObject({
  tasks: z
    .array(z.unknown(), { error: 'tasks must be an array of tasks' })
    .min(1, 'tasks cannot be empty')
    .max(MAX_BATCH, `a batch holds at most ${MAX_BATCH} tasks`),
});
/** POST /tasks/batch body as documented. */
export const BatchRequest = z
  .strictObject({ tasks: z.array(TaskInput).min(1).max(MAX_BATCH) })
  .meta({ description: 'Task ids must differ within one batch.' });

// ---------------------------------------------------------------- responses (documentation + type checks)

/**
 * The one error body of every 4xx/5xx answer: `error` always; `field` (the dotted path of the offending field, or
 * `(body)`, or a header name) and `errors` (every problem, for validation errors) when a field is at fault; `task_id`,
 * `state`, `workflow_status` and `status` when the answer is about one task.
 */
export const ErrorResponse = z.strictObject({
  error: z.string(),
  field: z.string().optional(),
  errors: z.array(z.strictObject({ field: z.string(), error: z.string() })).optional(),
  task_id: z.string().optional(),
  state: z.string().optional(),
  /** Temporal's execution status of a closed task (COMPLETED, TERMINATED, …). */
  workflow_status: z.string().optional(),
  status: z.lazy(() => TaskStatusSchema).optional(),
  /** POST /tasks/batch: every invalid item with its own errors (nothing was started). */
  items: z
    .array(
      z.strictObject({
        index: z.number().int(),
        id: z.string().optional(),
        errors: z.array(z.strictObject({ field: z.string(), error: z.string() })),
      }),
    )
    .optional(),
});

export const SubmitResponse = z.strictObject({
  message: z.string().meta({ example: 'Task task-12345 scheduled successfully' }),
  task_id: z.string(),
  run_id: z.string(),
  status_url: z.string(),
});
export type SubmitResponse = z.output<typeof SubmitResponse>;

const stateEnum = z.enum(allTaskStates);
const attemptRecord = z.strictObject({
  number: z.number(),
  target: z.enum(['primary', 'dead_letter']),
  started_at: z.string(),
  duration_ms: z.number(),
  outcome: z.enum(['success', 'retryable', 'permanent', 'deferred', 'cancelled']),
  status_code: z.number().optional(),
  error_class: z.string().optional(),
  error: z.string().optional(),
});

/** Mirrors domain/status.ts TaskStatus (a compile-time check below keeps the two equal). */
export const TaskStatusSchema = z.strictObject({
  task_id: z.string(),
  state: stateEnum,
  destination_type: z.enum(destinationTypes),
  attempt: z.number(),
  max_attempts: z.number(),
  submitted_at: z.string(),
  next_attempt_at: z.string().optional(),
  last_error: z.string().optional(),
  last_status_code: z.number().optional(),
  first_attempt_at: z.string().optional(),
  last_attempt_at: z.string().optional(),
  circuit_open_until: z.string().optional(),
  paused_ms: z.number().optional(),
  ack_deadline: z.string().optional(),
  dead_letter: z
    .object({
      reason: z.enum(['exhausted', 'permanent', 'max_duration']),
      delivered: z.boolean(),
      delivered_at: z.string().optional(),
      parked_until: z.string().optional(),
    })
    .optional(),
  requeues: z.number(),
  ordering_key: z.string().optional(),
  blocked_by: z.string().optional(),
  position: z.number().optional(),
  details: z.string(),
  attempts: z.array(attemptRecord),
});
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _statusSchemaMatchesType: Equal<z.output<typeof TaskStatusSchema>, TaskStatus> = true;
void _statusSchemaMatchesType;

/** Temporal's view of the execution, added to every status answer. */
export const WorkflowInfo = z.strictObject({
  run_id: z.string(),
  /** RUNNING, COMPLETED, TERMINATED, FAILED, TIMED_OUT, CANCELLED, CONTINUED_AS_NEW. */
  status: z.string(),
  start_time: z.string(),
  close_time: z.string().optional(),
});

/**
 * GET /tasks/:id answer: the workflow's status (query while open, result after close). A task ended without a
 * result (DELETE, or a failure) has state `terminated` / `failed` and only the fields Temporal knows.
 */
export const TaskStatusResponse = TaskStatusSchema.partial()
  .extend({ task_id: z.string(), state: z.union([stateEnum, z.enum(['terminated', 'failed', 'timed_out'])]) })
  .extend({ workflow: WorkflowInfo });
export type TaskStatusResponse = z.output<typeof TaskStatusResponse>;

/** One row of a list: what visibility knows without asking the workflow. */
export const TaskSummary = z.strictObject({
  task_id: z.string(),
  run_id: z.string(),
  state: z.string().optional(),
  destination_type: z.string().optional(),
  client_id: z.string().optional(),
  source: z.string().optional(),
  attempt: z.number().optional(),
  next_attempt_at: z.string().optional(),
  is_priority: z.boolean().optional(),
  ordering_key: z.string().optional(),
  workflow_status: z.string(),
  start_time: z.string().optional(),
  close_time: z.string().optional(),
});
export type TaskSummary = z.output<typeof TaskSummary>;

export const TaskPage = z.strictObject({
  items: z.array(TaskSummary),
  /** Pass as `page_token` for the next page; null on the last page. */
  next_page_token: z.string().nullable(),
});
export type TaskPage = z.output<typeof TaskPage>;

export const TransitionResponse = z.strictObject({
  message: z.string(),
  task_id: z.string(),
  previous_state: stateEnum,
  state: stateEnum,
});

export const TerminateResponse = z.strictObject({
  message: z.string().meta({ example: 'Task task-1 terminated' }),
  task_id: z.string(),
  run_id: z.string(),
  details: z.string(),
});

export const BatchItemResult = z.strictObject({
  index: z.number(),
  id: z.string(),
  /** 201 started, 409 id already open, 503 Temporal unreachable, 500 other. */
  status: z.number(),
  run_id: z.string().optional(),
  error: z.string().optional(),
});
export const BatchResponse = z.strictObject({
  total: z.number(),
  started: z.number(),
  failed: z.number(),
  results: z.array(BatchItemResult),
});

/** The dry-run answer of a bulk requeue or cancel (a real one answers 202 with a job, api/job-schemas.ts). */
export const BulkRequeueResponse = z.strictObject({
  dry_run: z.boolean(),
  /** How many tasks the job would touch. */
  count: z.number(),
  /** Some of the ids it would touch (at most 20). */
  sample: z.array(z.string()),
  skipped: z.array(z.strictObject({ id: z.string(), reason: z.string(), state: z.string().optional() })).optional(),
});

export const HealthResponse = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.strictObject({ ok: z.boolean(), detail: z.string().optional() })),
});
