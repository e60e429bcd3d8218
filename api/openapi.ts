import { z } from 'zod';
import { RequeueOverrides, TaskInput } from '../domain/task';
import { taskIdentifier } from '../domain/text-rules';
import {
  BatchRequest,
  BatchResponse,
  BulkRequeueRequest,
  BulkRequeueResponse,
  ErrorResponse,
  HealthResponse,
  ListDeadLettersQuery,
  ListTasksQuery,
  AckRequest,
  NackRequest,
  ReasonRequest,
  RequeueRequest,
  SubmitResponse,
  TaskPage,
  TaskStatusResponse,
  TerminateResponse,
  TransitionResponse,
} from './schemas';
import { BulkCancelRequest, JobAccepted, JobId, JobPage, JobResponse, ListJobsQuery } from './job-schemas';
import {
  DestinationChangeResponse,
  DestinationKey,
  DestinationList,
  PauseDestinationRequest,
  ResumeDestinationRequest,
} from './destination-schemas';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes parse with (zod 4's toJSONSchema,
 * input side: what a client sends). api/openapi.json is the checked-in copy; `scripts/write-openapi.ts` rewrites it
 * and a test fails when the two differ.
 */

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of a zod schema, input side. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const components = {
  TaskRequest: schemaOf(TaskInput),
  RequeueOverrides: schemaOf(RequeueOverrides),
  RequeueRequest: schemaOf(RequeueRequest),
  ReasonRequest: schemaOf(ReasonRequest),
  AckRequest: schemaOf(AckRequest),
  NackRequest: schemaOf(NackRequest),
  BatchRequest: schemaOf(BatchRequest),
  BulkRequeueRequest: schemaOf(BulkRequeueRequest),
  SubmitResponse: schemaOf(SubmitResponse, 'output'),
  TaskStatusResponse: schemaOf(TaskStatusResponse, 'output'),
  TaskPage: schemaOf(TaskPage, 'output'),
  TransitionResponse: schemaOf(TransitionResponse, 'output'),
  TerminateResponse: schemaOf(TerminateResponse, 'output'),
  BatchResponse: schemaOf(BatchResponse, 'output'),
  BulkRequeueResponse: schemaOf(BulkRequeueResponse, 'output'),
  HealthResponse: schemaOf(HealthResponse, 'output'),
  BulkCancelRequest: schemaOf(BulkCancelRequest),
  JobAccepted: schemaOf(JobAccepted, 'output'),
  JobResponse: schemaOf(JobResponse, 'output'),
  JobPage: schemaOf(JobPage, 'output'),
  PauseDestinationRequest: schemaOf(PauseDestinationRequest),
  ResumeDestinationRequest: schemaOf(ResumeDestinationRequest),
  DestinationList: schemaOf(DestinationList, 'output'),
  DestinationChangeResponse: schemaOf(DestinationChangeResponse, 'output'),
  Error: schemaOf(ErrorResponse, 'output'),
};
type ComponentName = keyof typeof components;

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: ComponentName, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const error = (description: string) => json('Error', description);
const body = (name: ComponentName, required = true) => ({
  required,
  content: { 'application/json': { schema: ref(name) } },
});

/** Query parameters from a zod object schema (each field's input JSON Schema). */
function queryParams(schema: z.ZodObject) {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    schema: schemaOf(field as z.ZodType),
  }));
}
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: schemaOf(taskIdentifier('id')),
  description: 'Task id (= workflow id).',
};
const header = (description: string) => ({ description, schema: { type: 'string' } });
const jobIdParam = { name: 'id', in: 'path', required: true, schema: schemaOf(JobId), description: 'Job id.' };
const destinationKeyParam = {
  name: 'key',
  in: 'path',
  required: true,
  schema: schemaOf(DestinationKey),
  description: 'Destination key (URL-encoded): an HTTP origin, or kafka://brokers/topic.',
};
const jobStarted = {
  ...json('JobAccepted', 'a job started; follow it at status_url'),
  headers: { Location: header('path of the job, /jobs/{id}') },
};
const rateLimited = {
  description: 'rate limit exceeded (RATE_LIMIT_PER_MINUTE per client_id); `field` is client_id',
  headers: { 'Retry-After': header('seconds until the client may submit again') },
  content: { 'application/json': { schema: ref('Error') } },
};

/** Answers every route may give. */
const common = {
  '401': error('API keys are configured and no bearer token was sent'),
  '403': error('the bearer token is not a configured API key'),
  '503': error('Temporal is unreachable'),
};
/** Answers of every route that reads a JSON body (an unknown field is a 400 naming it). */
const withBody = {
  ...common,
  '400': error('invalid body: `field` names the first bad or unknown field, `errors` lists all'),
  '413': error('body larger than API_BODY_LIMIT'),
  '415': error('body is not JSON'),
};

/** Answers of the receiver's ack and nack (no API key: the token authorizes). */
const receiverAnswerResponses = {
  '200': json('TransitionResponse', 'taken; `state` is the task state after it'),
  '400': error('invalid or unknown field (named in `field`)'),
  '403': error('the token was not issued for a delivery of this task (`field` is token); the task is unaffected'),
  '404': error('unknown task'),
  '409': error(
    'the delivery no longer waits for an answer (it timed out, a later attempt runs, it was answered, the task ' +
      'was requeued or closed); `error` says which, `state` is the current state',
  ),
  '413': error('body larger than API_BODY_LIMIT'),
  '415': error('body is not JSON'),
  '503': error('Temporal is unreachable'),
};

const seed002Kafka = {
  id: 'task-12345',
  source: 'order-service',
  destination: { host: 'localhost', port: '9092', topic: 'user-events' },
  dead_destination: { host: 'localhost', port: '9092', topic: 'user-events-dlq' },
  max_retries: 5,
  base_delay: 10,
  client_id: 'client-001',
  is_priority: false,
  message_data: '{"user_id": 123, "action": "send_email"}',
  destination_type: 'kafka',
};
const seed002Http = {
  id: 'webhook-task-789',
  source: 'notification-service',
  destination: { url: 'https://api.partner.com/webhooks/events' },
  dead_destination: { url: 'https://api.partner.com/webhooks/dlq' },
  max_retries: 5,
  base_delay: 10,
  client_id: 'partner-001',
  is_priority: false,
  message_data: '{"event": "user.created", "user_id": 789}',
  destination_type: 'http',
};

/** Builds the document (pure: the same input schemas always give the same document). */
export function buildOpenApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Retry service API',
      version: '0.1.0',
      description:
        'Durable retries and delayed delivery to Kafka topics and HTTP webhooks, on Temporal. Each task is one ' +
        '`retryTask` workflow whose id is the task id. Every error answers one body, `{"error": "...", "field": ' +
        '"...", "errors": [{"field", "error"}]}` (schema `Error`): `field` names the offending field by its dotted ' +
        'path when one is at fault, `errors` lists every problem of an invalid request. Unknown fields are ' +
        'refused, never ignored. A method a path does not serve answers 405 with `Allow`; OPTIONS answers 204 ' +
        'with `Allow`.',
    },
    servers: [{ url: 'http://127.0.0.1:8080' }],
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Only when API_KEYS is set.' } },
    },
    security: [{}, { bearer: [] }],
    paths: {
      '/tasks': {
        post: {
          summary: 'Schedule a retry task (seed 002 body; extensions optional)',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: ref('TaskRequest'),
                examples: { kafka: { value: seed002Kafka }, http: { value: seed002Http } },
              },
            },
          },
          responses: {
            ...withBody,
            '201': {
              ...json('SubmitResponse', 'scheduled'),
              headers: { Location: header('path of the task, /tasks/{id}') },
            },
            '400': error(
              'invalid or unknown field (named in `field`), or an HTTP destination the SSRF guard refuses ' +
                '(private, loopback and metadata addresses unless SSRF_ALLOW opens them)',
            ),
            '409': error('a task with this id is open (running or parked); `status` holds its status'),
            '429': rateLimited,
          },
        },
        get: {
          summary: 'List tasks (Temporal visibility; eventually consistent)',
          parameters: queryParams(ListTasksQuery),
          responses: { '200': json('TaskPage', 'one page'), '400': error('invalid filter'), ...common },
        },
      },
      '/tasks/batch': {
        post: {
          summary: 'Schedule up to 1000 tasks; all are validated before any starts',
          requestBody: body('BatchRequest'),
          responses: {
            ...withBody,
            '200': json('BatchResponse', 'per-item results (201 started, 409 id open, 503, 500)'),
            '400': error(
              'at least one invalid item (or an id used twice); nothing was started. `items` lists each invalid ' +
                'item, `errors` every problem as `tasks.<index>.<field>`',
            ),
            '429': rateLimited,
          },
        },
      },
      '/tasks/{id}': {
        get: {
          summary: 'Status of a task (query while open, result after close)',
          parameters: [
            idParam,
            {
              name: 'If-None-Match',
              in: 'header',
              required: false,
              schema: { type: 'string' },
              description: 'an ETag of an earlier answer: 304 when the status has not changed since',
            },
          ],
          responses: {
            '200': {
              ...json('TaskStatusResponse', 'status'),
              headers: { ETag: header('weak validator of this status') },
            },
            '304': { description: 'the status is the one If-None-Match names', headers: { ETag: header('same') } },
            '404': error('unknown task'),
            ...common,
          },
        },
        delete: {
          summary: 'End a task for good (terminates the workflow; no dead-letter delivery)',
          parameters: [idParam],
          requestBody: body('ReasonRequest', false),
          responses: {
            '200': json('TerminateResponse', 'terminated'),
            '404': error('unknown task'),
            '409': error('already closed'),
            ...withBody,
          },
        },
      },
      '/tasks/{id}/cancel': {
        post: {
          summary: 'Cancel a task (update; answers once the workflow accepted)',
          parameters: [idParam],
          requestBody: body('ReasonRequest', false),
          responses: {
            '200': json('TransitionResponse', 'cancelled'),
            '404': error('unknown task'),
            '409': error('invalid transition; `state` is the current state'),
            ...withBody,
          },
        },
      },
      '/tasks/{id}/requeue': {
        post: {
          summary: 'Requeue a parked or waiting task, optionally with overrides',
          parameters: [idParam],
          requestBody: body('RequeueRequest', false),
          responses: {
            ...withBody,
            '200': json('TransitionResponse', 'requeued'),
            '400': error('invalid or unknown field or override (named in `field`)'),
            '404': error('unknown task'),
            '409': error('invalid transition; `state` is the current state'),
          },
        },
      },
      '/tasks/{id}/retry-now': {
        post: {
          summary: 'Skip the current wait of a waiting task',
          parameters: [idParam],
          responses: {
            '200': json('TransitionResponse', 'attempt starts now'),
            '404': error('unknown task'),
            '409': error('invalid transition; `state` is the current state'),
            ...common,
          },
        },
      },
      '/tasks/{id}/ack': {
        post: {
          summary: 'Receiver acknowledgement: the X-Ack-Url of a delivery (ack_timeout); the task succeeds',
          description:
            'Called by the receiver with the X-Ack-Token its delivery carried; the token is the credential (no API ' +
            'key needed). Answers once the task has acted on it; an ack that overtakes its 2xx waits for it.',
          security: [{}],
          parameters: [idParam],
          requestBody: body('AckRequest'),
          responses: receiverAnswerResponses,
        },
      },
      '/tasks/{id}/nack': {
        post: {
          summary: 'Receiver says a delivery failed (X-Nack-Url): retryable → backoff, else dead destination at once',
          security: [{}],
          parameters: [idParam],
          requestBody: body('NackRequest'),
          responses: receiverAnswerResponses,
        },
      },
      '/dead-letters': {
        get: {
          summary: 'List parked tasks (dead_lettered, dead_letter_failed) that can be requeued',
          parameters: queryParams(ListDeadLettersQuery),
          responses: { '200': json('TaskPage', 'one page'), '400': error('invalid filter'), ...common },
        },
      },
      '/dead-letters/requeue': {
        post: {
          summary:
            'Requeue dead letters by ids or by filter as a background job (paced: BULK_REQUEUE_PER_SECOND); ' +
            'dry_run answers the count and a sample at once',
          requestBody: body('BulkRequeueRequest'),
          responses: {
            ...withBody,
            '200': json('BulkRequeueResponse', 'dry_run: how many would be requeued, and some of their ids'),
            '202': jobStarted,
          },
        },
      },
      '/tasks/cancel': {
        post: {
          summary: 'Cancel open tasks by ids or by filter as a background job (paced); dry_run counts',
          requestBody: body('BulkCancelRequest'),
          responses: {
            ...withBody,
            '200': json('BulkRequeueResponse', 'dry_run: how many would be cancelled, and some of their ids'),
            '202': jobStarted,
          },
        },
      },
      '/jobs': {
        get: {
          summary: "This service's bulk jobs, newest first",
          parameters: queryParams(ListJobsQuery),
          responses: { '200': json('JobPage', 'one page'), '400': error('invalid page'), ...common },
        },
      },
      '/jobs/{id}': {
        get: {
          summary: "A bulk job's state and counts",
          parameters: [jobIdParam],
          responses: {
            '200': json('JobResponse', 'the job'),
            '400': error('not a job id'),
            '404': error('unknown job'),
            ...common,
          },
        },
      },
      '/jobs/{id}/cancel': {
        post: {
          summary: 'Stop a running job after its current batch',
          parameters: [jobIdParam],
          requestBody: body('ReasonRequest', false),
          responses: {
            ...withBody,
            '200': json('JobResponse', 'the job, cancel requested'),
            '400': error('not a job id, or an invalid body'),
            '404': error('unknown job'),
            '409': error('the job is over'),
          },
        },
      },
      '/destinations': {
        get: {
          summary: 'Destinations with their pause state, tasks waiting and the breaker state workers reported',
          responses: { '200': json('DestinationList', 'every known destination, by key'), ...common },
        },
      },
      '/destinations/{key}/pause': {
        post: {
          summary: 'Pause a destination: its tasks wait (state paused) and make no attempts until it resumes',
          parameters: [destinationKeyParam],
          requestBody: body('PauseDestinationRequest', false),
          responses: {
            ...withBody,
            '200': json('DestinationChangeResponse', 'paused (changed false: it already was)'),
            '400': error('not a destination key, or an invalid body'),
          },
        },
      },
      '/destinations/{key}/resume': {
        post: {
          summary: 'Resume a destination: its waiting tasks go out in due order at a paced rate',
          parameters: [destinationKeyParam],
          requestBody: body('ResumeDestinationRequest', false),
          responses: {
            ...withBody,
            '200': json('DestinationChangeResponse', 'resumed (changed false: it was not paused)'),
            '400': error('not a destination key, or an invalid body'),
            '404': error('unknown destination: never paused nor reported'),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Temporal reachable, workers polling, Kafka reachable when configured',
          security: [{}],
          responses: { '200': json('HealthResponse', 'all parts ok'), '503': json('HealthResponse', 'a part is down') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [{}],
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [{}],
          responses: {
            '200': { description: 'OpenAPI 3.1 JSON', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
    },
  };
}

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Each documented path template with the methods it serves (for 405 and OPTIONS answers). */
export function documentedMethods(): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(buildOpenApiDocument().paths).map(([path, item]) => [
      path,
      Object.keys(item).filter((k) => httpMethods.has(k)),
    ]),
  );
}

/** The document as the checked-in file holds it (2-space JSON, trailing newline). */
export function openApiFileText(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}
