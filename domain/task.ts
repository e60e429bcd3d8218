import { z } from 'zod';
import { DEFAULT_HTTP_METHOD } from './destination';
import { policyLimits } from './limits';
import { delayTierNames } from './tiers';
import { HTTP_URL_PATTERN, identifier, maxChars, notBoth, taskIdentifier } from './text-rules';

import type { StoredDestination } from './destination';

export { DestinationType, describeDestination, destinationKind, kafkaBrokersOf, priorityKeyOf } from './destination';

/**
 * The one schema of a retry task. POST /tasks, the Kafka ingress and the workflow input all use it; the TypeScript
 * types and the OpenAPI document are derived from it. Seed 002's request body is accepted exactly as written
 * (snake_case); everything past it is an optional extension with a default listed in {@link taskDefaults}.
 * Objects are strict: an unknown field is refused, naming its path, never silently dropped. Every rule is one the
 * JSON Schema states too (text-rules.ts), except the one comparison JSON Schema cannot make (max_delay ≥ base_delay).
 */

/** Defaults for every optional field, in one place (seconds unless the name says otherwise). */
export const taskDefaults = {
  is_priority: false,
  jitter: 'none',
  /** Per-attempt HTTP timeout, seconds (seed 002: 30 s). */
  http_timeout: 30,
  /** How long a dead-lettered task stays open for requeue or cancel, seconds (7 days). */
  park_retention: 7 * 24 * 3600,
  http_method: DEFAULT_HTTP_METHOD,
} as const;

const MAX_SECONDS = policyLimits.maxSeconds;
const seconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .min(0, `${what} cannot be negative`)
    .max(MAX_SECONDS, `${what} cannot exceed one year`);

/** A name (host, cluster, secret ref): 1–`max` characters, no control characters, no surrounding whitespace. */
const nonEmpty = (what: string, max = 256) => identifier(what, max);

const headerMap = z.record(
  z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'header names must be HTTP tokens'),
  maxChars(8192, 'header values are longer than 8192 characters'),
);

/**
 * The declared kind of a destination: optional in a request (a destination without it is told by its fields, and one
 * with it must agree with them), always present after parsing, so code reads `destination.kind`, never the fields.
 */
const declaredKind = <K extends string>(kind: K) =>
  z
    .literal(kind, { error: `kind must be "${kind}" for this destination` })
    .meta({ description: `The destination's kind; optional, and "${kind}" when given.` })
    .optional();

/**
 * A Kafka topic on some cluster: the original `{host, port, topic}`, or a broker list, or a cluster named in config.
 * host and port go together; at least one of host, brokers, cluster (JSON Schema: dependentRequired + anyOf).
 */
export const KafkaDestination = z
  .strictObject({
    kind: declaredKind('kafka'),
    host: nonEmpty('host').optional(),
    port: z
      .union([z.string().regex(/^\d{1,5}$/, 'port must be digits'), z.number().int().min(1).max(65535)])
      .optional(),
    topic: z
      .string({ error: 'topic is required' })
      .regex(/^[A-Za-z0-9._-]{1,249}$/, 'topic must be 1-249 characters of letters, digits, ".", "_" or "-"'),
    /** Extension: a bootstrap broker list (`host:port`), instead of host + port. */
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'brokers must be host:port'))
      .min(1)
      .optional(),
    /** Extension: a cluster name from the worker's KAFKA_CLUSTERS config, instead of host + port. */
    cluster: nonEmpty('cluster').optional(),
    /** Extension: a fixed partition; otherwise the key decides. */
    partition: z.number().int().min(0).optional(),
  })
  .superRefine((d, ctx) => {
    const viaHost = d.host !== undefined || d.port !== undefined;
    if (viaHost && (d.host === undefined || d.port === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [d.host === undefined ? 'host' : 'port'],
        message: 'host and port go together',
      });
    }
    if (!viaHost && !d.brokers && !d.cluster) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'host and port (or brokers, or cluster) are required' });
    }
  })
  .meta({
    dependentRequired: { host: ['port'], port: ['host'] },
    anyOf: [{ required: ['host'] }, { required: ['brokers'] }, { required: ['cluster'] }],
  })
  .transform((d) => ({ ...d, kind: 'kafka' as const }));
export type KafkaDestination = z.output<typeof KafkaDestination>;

/** An HTTP(S) webhook URL. */
export const HttpDestination = z
  .strictObject({
    kind: declaredKind('http'),
    url: z
      .url({ protocol: /^https?$/, error: 'url must be an absolute http(s) URL' })
      .regex(HTTP_URL_PATTERN, 'url must be an absolute http(s) URL')
      .max(2048, 'url is longer than 2048 characters'),
    /** Extension: HTTP method. @default 'POST' */
    method: z.enum(['POST', 'PUT', 'PATCH']).optional(),
    /** Extension: extra headers sent with every delivery to this URL. */
    headers: headerMap.optional(),
    /**
     * Extension: name of a signing secret configured on the worker (WEBHOOK_SECRETS); deliveries are then signed per
     * Standard Webhooks. The secret itself never enters the task or the workflow history.
     */
    signing_secret_ref: nonEmpty('signing_secret_ref', 128).optional(),
    /**
     * Extension: receiver acknowledgement, seconds (1 … 7 days). A 2xx is then not success: the receiver must ack
     * (or nack) through the X-Ack-Url / X-Nack-Url it was sent within this time, or the attempt fails as `ack_timeout`.
     */
    ack_timeout: z
      .number({ error: 'ack_timeout must be a number of seconds' })
      .min(policyLimits.ackTimeout.min, `ack_timeout must be at least ${policyLimits.ackTimeout.min} second`)
      .max(policyLimits.ackTimeout.max, 'ack_timeout cannot exceed 7 days (604800 seconds)')
      .optional(),
  })
  .transform((d) => ({ ...d, kind: 'http' as const }));
export type HttpDestination = z.output<typeof HttpDestination>;

/** Any destination: its declared `kind`, or else its fields (`url` → http, `topic` → kafka), tell which. */
export const AnyDestination = z.union([HttpDestination, KafkaDestination], {
  error: 'must be {"url": ...} for HTTP or {"host", "port", "topic"} for Kafka',
});
export type Destination = HttpDestination | KafkaDestination;

export const JitterMode = { None: 'none', Equal: 'equal', Full: 'full' } as const;
export type JitterMode = (typeof JitterMode)[keyof typeof JitterMode];

/** Policy fields: the ones a requeue may override too. */
const policyFields = {
  /** Attempts after the caller's own failed one (seed 002). 0 sends the message straight to the dead destination. */
  max_retries: z
    .number({ error: 'max_retries must be an integer' })
    .int('max_retries must be an integer')
    .min(0, 'max_retries cannot be negative')
    .max(policyLimits.maxRetries, `max_retries cannot exceed ${policyLimits.maxRetries}`),
  /** Seconds; attempt k waits base_delay·2^(k−1) (seed 002). */
  base_delay: seconds('base_delay'),
  /** Extension: cap on any single wait, seconds; not less than base_delay. */
  max_delay: seconds('max_delay')
    .meta({ description: 'Cap on any single wait, seconds. Must not be less than base_delay.' })
    .optional(),
  /** Extension: randomise waits. `equal`: [d/2, d]; `full`: [0, d]; never above max_delay. @default 'none' */
  jitter: z.enum(['none', 'equal', 'full']).default(taskDefaults.jitter),
  /** Extension: the wait before attempt 1 as a named tier (5s … 5d), instead of base_delay. */
  delay_tier: z.enum(delayTierNames, { error: `delay_tier must be one of ${delayTierNames.join(', ')}` }).optional(),
  /** Extension: exact time of attempt 1 (ISO 8601 with offset). In the past means now. */
  deliver_at: z.iso.datetime({ offset: true, error: 'deliver_at must be an ISO 8601 date-time' }).optional(),
  /** Extension: no attempt starts later than this many seconds after submission; then the task dead-letters. */
  max_duration: seconds('max_duration').optional(),
  /** Extension: per-attempt HTTP timeout, seconds. @default 30 */
  http_timeout: z
    .number()
    .min(policyLimits.httpTimeout.min)
    .max(policyLimits.httpTimeout.max)
    .default(taskDefaults.http_timeout),
  /** Extension: how long a dead-lettered task stays open for requeue/cancel, seconds. @default 604800 (7 days) */
  park_retention: seconds('park_retention').default(taskDefaults.park_retention),
};

const baseTask = {
  /** The task id; also the workflow id. */
  id: taskIdentifier('id', 200),
  source: identifier('source'),
  client_id: identifier('client_id'),
  is_priority: z.boolean({ error: 'is_priority must be a boolean' }).default(taskDefaults.is_priority),
  message_data: z.string({ error: 'message_data is required' }).min(1, 'message_data is required'),
  /** Extension: message key (Kafka record key; sent as a header to HTTP). */
  key: maxChars(1024, 'key is longer than 1024 characters').optional(),
  /** Extension: message headers (Kafka record headers / HTTP request headers). */
  headers: headerMap.optional(),
  dead_destination: AnyDestination.nullish(),
  /**
   * Extension: tasks sharing this key are attempted strictly in acceptance order; one failing task holds only its
   * own key. Same character rules as ids.
   */
  ordering_key: taskIdentifier('ordering_key', 200).optional(),
  /** Extension: with `ordering_key`, whether a dead-lettered task lets the next one proceed. @default 'continue' */
  on_dead_letter: z
    .enum(['continue', 'block'], { error: 'on_dead_letter must be "continue" or "block"' })
    .optional()
    .meta({ description: 'With ordering_key: "continue" (default) or "block". Requires ordering_key.' }),
  ...policyFields,
};

const kafkaTask = z.strictObject({
  ...baseTask,
  destination_type: z.literal('kafka'),
  destination: KafkaDestination,
});
const httpTask = z.strictObject({
  ...baseTask,
  destination_type: z.literal('http'),
  destination: HttpDestination,
});

/** max_delay ≥ base_delay: a comparison of two fields, which JSON Schema cannot state (the document says it in words). */
function checkPolicy(value: unknown, ctx: z.RefinementCtx) {
  const t = value as { max_delay?: number; base_delay?: number };
  if (t.max_delay !== undefined && t.base_delay !== undefined && t.max_delay < t.base_delay) {
    ctx.addIssue({ code: 'custom', path: ['max_delay'], message: 'max_delay cannot be less than base_delay' });
  }
}
const withPolicyRules = <T extends z.ZodType>(schema: T) =>
  notBoth(schema.superRefine(checkPolicy), 'delay_tier', 'deliver_at', 'give delay_tier or deliver_at, not both');

/** on_dead_letter only means something with an ordering_key (JSON Schema: dependentRequired). */
function checkOrdering(value: unknown, ctx: z.RefinementCtx) {
  const t = value as { ordering_key?: string; on_dead_letter?: string };
  if (t.on_dead_letter !== undefined && t.ordering_key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['on_dead_letter'], message: 'on_dead_letter requires ordering_key' });
  }
}

/** A retry task as submitted (POST /tasks body, retry-request topic value). */
export const TaskInput = withPolicyRules(
  z
    .discriminatedUnion('destination_type', [kafkaTask, httpTask], {
      error: 'destination_type must be "kafka" or "http"',
    })
    .superRefine(checkOrdering)
    .meta({ dependentRequired: { on_dead_letter: ['ordering_key'] } }),
);

/** A validated task with defaults applied: the workflow's input. */
export type Task = z.output<typeof TaskInput>;
/** What a client may send. */
export type TaskRequest = z.input<typeof TaskInput>;
/** A task as a workflow input may hold it: recorded before destinations declared their kind, they have none. */
export type StoredTask = Task extends infer T
  ? T extends unknown
    ? Omit<T, 'destination' | 'dead_destination'> & {
        destination: StoredDestination;
        dead_destination?: StoredDestination | null;
      }
    : never
  : never;

/** Fields a requeue may change; everything else stays as submitted. */
export const RequeueOverrides = withPolicyRules(
  z.strictObject({
    message_data: baseTask.message_data.optional(),
    key: baseTask.key,
    headers: baseTask.headers,
    destination: AnyDestination.optional(),
    dead_destination: AnyDestination.nullish(),
    max_retries: policyFields.max_retries.optional(),
    base_delay: policyFields.base_delay.optional(),
    max_delay: policyFields.max_delay,
    jitter: z.enum(['none', 'equal', 'full']).optional(),
    delay_tier: policyFields.delay_tier,
    deliver_at: policyFields.deliver_at,
    max_duration: policyFields.max_duration,
    http_timeout: z.number().min(policyLimits.httpTimeout.min).max(policyLimits.httpTimeout.max).optional(),
  }),
);
export type RequeueOverrides = z.output<typeof RequeueOverrides>;
/** Requeue overrides as sent to a workflow: destinations may come without their `kind`. */
export type SentRequeueOverrides = z.input<typeof RequeueOverrides>;

/** A validation problem, with the dotted path of the offending field. */
export interface FieldError {
  field: string;
  error: string;
}

const dotted = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(body)';

/**
 * Flattens zod issues into `{field, error}` pairs; the first names the field seed 002-style errors report. An unknown
 * field is named by its own path (`dead_destination.methd`), one pair per unknown field.
 */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: dotted([...issue.path, key]), error: `unknown field "${key}"` }))
      : [{ field: dotted(issue.path), error: issue.message }],
  );
}
