import { z } from 'zod';

/**
 * Every setting that is not a Temporal connection setting (those come from @temporalio/envconfig: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS …). Parsed once at start; a bad value fails with the variable's name.
 * README's configuration table lists the same variables.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const ConfigSchema = z.object({
  // --- Temporal (besides the envconfig connection settings) ---
  /** Task queue the worker polls and the API starts workflows on. */
  TASK_QUEUE: z.string().min(1).default('retry-tasks'),

  // --- API ---
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: int(0, 65535).default(8080),
  /** Largest accepted JSON body (express/body-parser syntax). */
  API_BODY_LIMIT: z.string().default('1mb'),
  /** Comma-separated API keys; when set, every route but /health, /metrics and /openapi.json needs `Bearer <key>`. */
  API_KEYS: list.default([]),
  /** Tasks per client per minute on POST /tasks; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(0),
  /** Let `is_priority: true` submissions past the rate limit (seed 001). */
  RATE_LIMIT_PRIORITY_BYPASS: bool.default(true),
  /** Workflows started per second by bulk dead-letter requeue (throttle). */
  BULK_REQUEUE_PER_SECOND: int(1, 10_000).default(20),
  /** Parallel workflow starts for POST /tasks/batch. */
  BATCH_CONCURRENCY: int(1, 256).default(16),

  // --- Worker and deliveries ---
  /** Activity slots per worker. */
  WORKER_MAX_CONCURRENT_ACTIVITIES: int(1, 10_000).default(200),
  /**
   * Lead-time release, seconds: a wait longer than this ends this much early and the delivery is armed in a worker,
   * which releases it at the due millisecond (activities/release-gate.ts). Sized so the dev server's drain rate
   * (~100 due timer→activity chains per second) covers a burst of several thousand. 0 turns it off.
   */
  RELEASE_LEAD_SECONDS: int(0, 3600).default(60),
  /**
   * Longest a burst's results are held back after its release, milliseconds: the deliveries released together by one
   * due instant send first and report to the server once all of them have sent, or after this long (so the first
   * completions' workflow work does not compete with the rest of the burst for the CPU). 0 reports each at once.
   */
  RELEASE_BURST_HOLD_MS: int(0, 10_000).default(5_000),
  /** Armed deliveries one worker holds at most (slots of its release-queue worker; each costs a few KB). */
  RELEASE_MAX_ARMED: int(1, 1_000_000).default(20_000),
  /**
   * Workflows kept in the worker's sticky cache. The SDK's default grows with the heap (≈2,300 on a 4 GiB heap);
   * tasks wait for minutes to days, so caching many buys little and costs ~1 MB each (bench scale scenario).
   */
  WORKER_MAX_CACHED_WORKFLOWS: int(0, 100_000).default(500),
  /**
   * A prebuilt workflow bundle (`bundleWorkflowCode` output) the worker runs instead of bundling workflows/ at start:
   * a deploy ships exactly the code its replay tests checked, and starts faster.
   */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** Prometheus port of the worker process (app metrics + Temporal SDK metrics); 0 = off. */
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  /** Loopback port of the Temporal SDK's Prometheus exporter; the worker's /metrics appends its output. */
  WORKER_SDK_METRICS_PORT: int(1, 65535).default(9465),
  /**
   * Deliveries in flight to one destination (origin or topic) per worker. A burst released at one instant to one
   * origin goes out in rounds of this size; waits for a slot show in retry_service_destination_slot_wait_seconds.
   */
  DESTINATION_MAX_CONCURRENCY: int(1, 10_000).default(100),
  /** Consecutive failures that open a destination's circuit. */
  BREAKER_CONSECUTIVE_FAILURES: int(1, 10_000).default(5),
  /** Seconds an open circuit waits before a half-open probe. */
  BREAKER_HALF_OPEN_AFTER_SECONDS: z.coerce.number().min(0.1).max(86_400).default(30),
  /** Tasks a resumed destination releases per second (in due order), unless the resume names a rate. */
  DESTINATION_RESUME_PER_SECOND: int(1, 10_000).default(10),
  /**
   * Automatic pause: a worker pauses a destination that has failed continuously (every delivery a retryable failure
   * or deferred by its open circuit) for this many seconds. 0 = off.
   */
  DESTINATION_AUTO_PAUSE_AFTER_SECONDS: int(0, 30 * 86_400).default(0),
  /** Automatic pause: after this many retryable failures in a row seen by one worker. 0 = off. */
  DESTINATION_AUTO_PAUSE_AFTER_FAILURES: int(0, 1_000_000).default(0),
  /** How often each worker re-reads which destinations are paused, milliseconds (the longest a pause takes to act). */
  DESTINATION_PAUSE_REFRESH_MS: int(100, 60_000).default(2_000),
  /** Hosts, IPs or CIDR ranges that the SSRF guard lets through even though they are private (comma-separated). */
  SSRF_ALLOW: list.default([]),
  /** Largest response body read from a receiver, bytes. */
  HTTP_MAX_RESPONSE_BYTES: int(0, 10_000_000).default(65_536),
  /** Response body kept in the attempt log, characters. */
  HTTP_BODY_SNIPPET_CHARS: int(0, 10_000).default(512),
  /** Redirects followed per delivery (each hop re-checked by the SSRF guard); 0 = never follow. */
  HTTP_MAX_REDIRECTS: int(0, 10).default(0),
  /** Signing secrets by name: `{"partner-a": ["whsec_…", "whsec_old…"]}`; tasks refer to them by name. */
  WEBHOOK_SECRETS: json(z.record(z.string(), z.array(z.string().min(1)).min(1))).default({}),
  /**
   * Receiver acknowledgement: the key of the HMAC in X-Ack-Token. The workers that deliver and every API process that
   * takes acks must share it. Unset: tasks with `ack_timeout` are refused (`npm start` generates one per start).
   */
  ACK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Public base URL of the API in X-Ack-Url / X-Nack-Url and notification links. @default http://<API_HOST, loopback for 0.0.0.0>:<API_PORT> */
  ACK_PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),

  // --- Lifecycle notifications (off unless NOTIFY_WEBHOOK_URL or NOTIFY_KAFKA_TOPIC is set) ---
  /** Webhook that receives lifecycle events (task.dead_lettered, destination.failing …) as retry tasks. */
  NOTIFY_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).optional(),
  /** Standard Webhooks secret (`whsec_<base64>`) that signs the notification webhook's deliveries. */
  NOTIFY_WEBHOOK_SECRET: z
    .string()
    .regex(/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/, 'must be a whsec_<base64> secret')
    .optional(),
  /** Kafka topic that receives lifecycle events (record key: the event's subject). */
  NOTIFY_KAFKA_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be 1-249 characters of letters, digits, ".", "_" or "-"')
    .optional(),
  /** Cluster of NOTIFY_KAFKA_TOPIC, named in KAFKA_CLUSTERS. @default the KAFKA_BROKERS cluster */
  NOTIFY_KAFKA_CLUSTER: z.string().min(1).optional(),
  /** Events of one type about one subject within this many seconds are sent as one event with a count. */
  NOTIFY_COALESCE_SECONDS: z.coerce.number().min(0.1).max(86_400).default(60),
  /** Attempts of each notification task (its waits: 5 s doubling, at most 5 minutes). */
  NOTIFY_MAX_RETRIES: int(0, 1_000).default(10),

  // --- Kafka ---
  /** Default cluster (ingress, Kafka destinations that name no brokers); comma-separated host:port. */
  KAFKA_BROKERS: list.optional(),
  /** Named clusters for destinations: `{"eu": ["k1:9092","k2:9092"]}`. */
  KAFKA_CLUSTERS: json(z.record(z.string(), z.array(z.string()).min(1))).default({}),
  KAFKA_CLIENT_ID: z.string().default('retry-service'),
  /** Connection and request timeouts toward brokers, milliseconds. */
  KAFKA_CONNECTION_TIMEOUT_MS: int(100, 120_000).default(3_000),
  KAFKA_REQUEST_TIMEOUT_MS: int(100, 300_000).default(10_000),

  // --- Kafka ingress ---
  INGRESS_ENABLED: bool.default(false),
  INGRESS_GROUP_ID: z.string().default('retry-service-ingress'),
  INGRESS_RETRY_TOPIC: z.string().default('retry.requests'),
  INGRESS_TIER_PREFIX: z.string().default('retry.delay.'),
  INGRESS_DLQ_TOPIC: z.string().default('retry.ingress.dlq'),
  INGRESS_MAX_IN_FLIGHT_PER_PARTITION: int(1, 10_000).default(16),
  /** The record key becomes the task's ordering_key when the message names none (header or JSON field). */
  INGRESS_ORDERING_FROM_RECORD_KEY: bool.default(false),
  /** Prometheus port of the standalone ingress process (`npm run ingress`); 0 = off. In the worker it shares theirs. */
  INGRESS_METRICS_PORT: int(0, 65535).default(9466),

  // --- Observability ---
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** OTLP/HTTP traces endpoint; tracing is off unless set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
});

export type Config = z.output<typeof ConfigSchema>;

/** Thrown at start when a variable has a bad value; the message names the variable. */
export class ConfigError extends Error {
  constructor(public readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`);
  }
}

/** Parses the environment (empty strings count as unset). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const result = ConfigSchema.safeParse(relevant);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const problems = notificationProblems(result.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

/** Signer name of NOTIFY_WEBHOOK_SECRET beside the WEBHOOK_SECRETS entries (which may not use it). */
export const NOTIFY_SECRET_REF = 'retry-service.notifications';

/** Settings of lifecycle notifications that only make sense together. */
function notificationProblems(c: Config): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  if (c.NOTIFY_WEBHOOK_SECRET !== undefined && c.NOTIFY_WEBHOOK_URL === undefined) {
    problems.push({ variable: 'NOTIFY_WEBHOOK_SECRET', message: 'needs NOTIFY_WEBHOOK_URL' });
  }
  if (NOTIFY_SECRET_REF in c.WEBHOOK_SECRETS) {
    problems.push({
      variable: 'WEBHOOK_SECRETS',
      message: `"${NOTIFY_SECRET_REF}" is reserved (NOTIFY_WEBHOOK_SECRET)`,
    });
  }
  if (c.NOTIFY_KAFKA_CLUSTER !== undefined && c.NOTIFY_KAFKA_TOPIC === undefined) {
    problems.push({ variable: 'NOTIFY_KAFKA_CLUSTER', message: 'needs NOTIFY_KAFKA_TOPIC' });
  }
  if (c.NOTIFY_KAFKA_CLUSTER !== undefined && !(c.NOTIFY_KAFKA_CLUSTER in c.KAFKA_CLUSTERS)) {
    problems.push({
      variable: 'NOTIFY_KAFKA_CLUSTER',
      message: `"${c.NOTIFY_KAFKA_CLUSTER}" is not in KAFKA_CLUSTERS`,
    });
  }
  if (c.NOTIFY_KAFKA_TOPIC !== undefined && c.NOTIFY_KAFKA_CLUSTER === undefined && !c.KAFKA_BROKERS?.length) {
    problems.push({ variable: 'NOTIFY_KAFKA_TOPIC', message: 'needs KAFKA_BROKERS or NOTIFY_KAFKA_CLUSTER' });
  }
  return problems;
}

/** Whether lifecycle notifications are on: a webhook or a Kafka topic receives them. */
export function notificationsEnabled(c: Pick<Config, 'NOTIFY_WEBHOOK_URL' | 'NOTIFY_KAFKA_TOPIC'>): boolean {
  return c.NOTIFY_WEBHOOK_URL !== undefined || c.NOTIFY_KAFKA_TOPIC !== undefined;
}

/** Base URL of the ack and nack endpoints: ACK_PUBLIC_BASE_URL, else the API's own address. */
export function ackBaseUrl(config: Pick<Config, 'ACK_PUBLIC_BASE_URL' | 'API_HOST' | 'API_PORT'>): string {
  if (config.ACK_PUBLIC_BASE_URL) return config.ACK_PUBLIC_BASE_URL;
  const host = config.API_HOST === '0.0.0.0' || config.API_HOST === '::' ? '127.0.0.1' : config.API_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.API_PORT}`;
}

/** The variables, with their defaults, for README's table and `--help` texts. */
export const configVariables = Object.keys(ConfigSchema.shape);
