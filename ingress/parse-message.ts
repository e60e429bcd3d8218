import { fieldErrors, TaskInput, type Task } from '../domain/task';
import { tierFromTopic, tierSeconds, type DelayTier } from '../domain/tiers';
import { headerText, headersAsText, requestHeaderNames, RetryHeader, type KafkaHeaders } from '../sdk/headers';

/**
 * Pure translation of one Kafka message into a retry {@link Task}. Three forms:
 *
 * 1. **Retry-request JSON** (on the retry-request topic, no target header): the value is a task in the POST /tasks
 *    schema. `id` may be left out; it then comes from the message-id header or the message's coordinates.
 * 2. **Retry-request raw** (on the retry-request topic, with a `retry-target-topic` or `retry-target-url` header): the
 *    value is the payload itself (UTF-8 text) and the {@link RetryHeader request headers} carry the task fields.
 * 3. **Delay tier** (on `<tierPrefix><tier>`, seed 000): the value is the payload; `retry-target-topic` names the
 *    target topic on the ingress cluster; delivery is at `retry-process-at`, or the message timestamp plus the tier.
 *
 * Forms 2 and 3 carry the message key and every non-request header over to the delivered message.
 */

/** Which of the three forms a message had. */
export const MessageForm = { Json: 'json', Raw: 'raw', Tier: 'tier' } as const;
export type MessageForm = (typeof MessageForm)[keyof typeof MessageForm];

/** Task fields the headers may leave out in the raw and tier forms. */
export interface IngressDefaults {
  /** Delivery attempts when `retry-max-retries` is absent. @default 5 */
  max_retries: number;
  /** Backoff base when `retry-base-delay` is absent, seconds. @default 5 */
  base_delay: number;
  /** Client id when `retry-client-id` is absent. @default 'kafka-ingress' */
  client_id: string;
}

export const ingressDefaults: IngressDefaults = { max_retries: 5, base_delay: 5, client_id: 'kafka-ingress' };

/** The parts of a consumed record the parser looks at (a kafkajs `KafkaMessage` plus its coordinates). */
export interface IngressRecord {
  topic: string;
  partition: number;
  /** Offset as kafkajs gives it (decimal string). */
  offset: string;
  /** Record timestamp, epoch milliseconds as a decimal string (kafkajs). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: KafkaHeaders;
}

export interface ParseContext {
  /** The retry-request topic (INGRESS_RETRY_TOPIC). */
  retryTopic: string;
  /** Prefix of the delay-tier topics (INGRESS_TIER_PREFIX). */
  tierPrefix: string;
  /** Bootstrap brokers of the ingress cluster: the cluster of `retry-target-topic` and `retry-dead-topic`. */
  brokers: string[];
  defaults?: Partial<IngressDefaults>;
  /** The record key is the ordering key of a message that names none (INGRESS_ORDERING_FROM_RECORD_KEY). */
  orderingFromRecordKey?: boolean;
}

/** Why a message cannot become a task. Malformed messages go to the ingress dead-letter topic with this reason. */
export class MalformedMessage extends Error {
  constructor(
    public readonly reason: string,
    /** The offending task field or header, when known. */
    public readonly field?: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
    this.name = 'MalformedMessage';
  }
}

export type ParseResult = { ok: true; task: Task; form: MessageForm } | { ok: false; error: MalformedMessage };

/** The task id of a message without a message-id: its coordinates, stable across re-consumption. */
export function coordinateId(record: Pick<IngressRecord, 'topic' | 'partition' | 'offset'>): string {
  return `kafka-${record.topic}-${record.partition}-${record.offset}`;
}

/** Turns one record into a validated task, or says why it cannot. Never throws. */
export function parseIngressMessage(record: IngressRecord, ctx: ParseContext): ParseResult {
  try {
    const tier = tierFromTopic(ctx.tierPrefix, record.topic);
    if (tier !== undefined)
      return validate(withOrdering(tierRequest(record, tier, ctx), record, ctx), MessageForm.Tier);
    if (record.topic !== ctx.retryTopic) {
      return malformed(new MalformedMessage(`topic ${record.topic} is neither the retry topic nor a tier topic`));
    }
    const raw =
      headerText(record.headers, RetryHeader.TargetTopic) !== undefined ||
      headerText(record.headers, RetryHeader.TargetUrl) !== undefined;
    return raw
      ? validate(withOrdering(rawRequest(record, ctx), record, ctx), MessageForm.Raw)
      : validate(withOrdering(jsonRequest(record), record, ctx), MessageForm.Json);
  } catch (err) {
    if (err instanceof MalformedMessage) return malformed(err);
    throw err;
  }
}

function malformed(error: MalformedMessage): ParseResult {
  return { ok: false, error };
}

function validate(request: Record<string, unknown>, form: MessageForm): ParseResult {
  const parsed = TaskInput.safeParse(request);
  if (parsed.success) return { ok: true, task: parsed.data, form };
  const errors = fieldErrors(parsed.error);
  const first = errors[0];
  return malformed(
    new MalformedMessage(errors.map((e) => `${e.field}: ${e.error}`).join('; '), first ? first.field : undefined),
  );
}

/**
 * The ordering fields from headers (every form): `retry-ordering-key` (a JSON task's own ordering_key must agree),
 * else the record key when the ingress is configured so; `retry-on-dead-letter`.
 */
function withOrdering(
  request: Record<string, unknown>,
  record: IngressRecord,
  ctx: ParseContext,
): Record<string, unknown> {
  const header = headerText(record.headers, RetryHeader.OrderingKey);
  if (header !== undefined && request.ordering_key !== undefined && request.ordering_key !== header) {
    throw new MalformedMessage(
      `the ordering_key "${String(request.ordering_key)}" differs from the ${RetryHeader.OrderingKey} header`,
      'ordering_key',
    );
  }
  const fromKey = ctx.orderingFromRecordKey && record.key ? record.key.toString('utf8') : undefined;
  const orderingKey = request.ordering_key ?? header ?? fromKey;
  const onDeadLetter = headerText(record.headers, RetryHeader.OnDeadLetter);
  return {
    ...request,
    ...(orderingKey !== undefined ? { ordering_key: orderingKey } : {}),
    ...(onDeadLetter !== undefined ? { on_dead_letter: onDeadLetter.trim() } : {}),
  };
}

/** Form 1: the value is a task (JSON). */
function jsonRequest(record: IngressRecord): Record<string, unknown> {
  if (!record.value || record.value.length === 0) throw new MalformedMessage('empty value; expected a JSON task');
  let body: unknown;
  try {
    body = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    throw new MalformedMessage(`value is not JSON (${(err as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MalformedMessage('value must be a JSON object (a task)');
  }
  const request = { ...(body as Record<string, unknown>) };
  const headerId = headerText(record.headers, RetryHeader.MessageId);
  if (headerId !== undefined && request.id !== undefined && request.id !== headerId) {
    throw new MalformedMessage(`the task id "${String(request.id)}" differs from the message-id header`, 'id');
  }
  request.id ??= headerId ?? coordinateId(record);
  return request;
}

/** Form 2: payload in the value, task fields in headers. */
function rawRequest(record: IngressRecord, ctx: ParseContext): Record<string, unknown> {
  const h = (name: string) => headerText(record.headers, name);
  const targetTopic = h(RetryHeader.TargetTopic);
  const targetUrl = h(RetryHeader.TargetUrl);
  if (targetTopic !== undefined && targetUrl !== undefined) {
    throw new MalformedMessage(
      `give ${RetryHeader.TargetTopic} or ${RetryHeader.TargetUrl}, not both`,
      RetryHeader.TargetUrl,
    );
  }
  const request = commonRequest(record, ctx);
  if (targetUrl !== undefined) {
    request.destination_type = 'http';
    request.destination = { url: targetUrl };
  } else {
    request.destination_type = 'kafka';
    request.destination = { brokers: ctx.brokers, topic: targetTopic };
  }
  const tier = h(RetryHeader.DelayTier);
  if (tier !== undefined) request.delay_tier = tier;
  const processAt = h(RetryHeader.ProcessAt);
  if (processAt !== undefined) request.deliver_at = processAtIso(processAt);
  return request;
}

/** Form 3 (seed 000): a delay-tier topic; delivered at process-at or timestamp + tier. */
function tierRequest(record: IngressRecord, tier: DelayTier, ctx: ParseContext): Record<string, unknown> {
  const targetTopic = headerText(record.headers, RetryHeader.TargetTopic);
  if (targetTopic === undefined) {
    throw new MalformedMessage(`header ${RetryHeader.TargetTopic} is required on tier topics`, RetryHeader.TargetTopic);
  }
  const request = commonRequest(record, ctx);
  request.destination_type = 'kafka';
  request.destination = { brokers: ctx.brokers, topic: targetTopic };
  const processAt = headerText(record.headers, RetryHeader.ProcessAt);
  if (processAt !== undefined) {
    request.deliver_at = processAtIso(processAt);
  } else {
    const timestampMs = Number(record.timestamp);
    if (!Number.isFinite(timestampMs)) throw new MalformedMessage('message has no usable timestamp', 'timestamp');
    request.deliver_at = new Date(timestampMs + tierSeconds(tier) * 1000).toISOString();
  }
  return request;
}

/** Fields shared by the raw and tier forms: id, payload, key, policy, dead destination, carried headers. */
function commonRequest(record: IngressRecord, ctx: ParseContext): Record<string, unknown> {
  const h = (name: string) => headerText(record.headers, name);
  const defaults = { ...ingressDefaults, ...ctx.defaults };
  if (!record.value || record.value.length === 0) throw new MalformedMessage('empty value; nothing to deliver');
  const request: Record<string, unknown> = {
    id: h(RetryHeader.MessageId) ?? coordinateId(record),
    source: h(RetryHeader.Source) ?? `kafka:${record.topic}`,
    client_id: h(RetryHeader.ClientId) ?? defaults.client_id,
    message_data: record.value.toString('utf8'),
    max_retries: numberHeader(h(RetryHeader.MaxRetries)) ?? defaults.max_retries,
    base_delay: numberHeader(h(RetryHeader.BaseDelay)) ?? defaults.base_delay,
  };
  if (record.key) request.key = record.key.toString('utf8');
  const maxDelay = numberHeader(h(RetryHeader.MaxDelay));
  if (maxDelay !== undefined) request.max_delay = maxDelay;
  const priority = h(RetryHeader.Priority);
  if (priority !== undefined) request.is_priority = booleanHeader(priority);
  const deadTopic = h(RetryHeader.DeadTopic);
  const deadUrl = h(RetryHeader.DeadUrl);
  if (deadTopic !== undefined && deadUrl !== undefined) {
    throw new MalformedMessage(
      `give ${RetryHeader.DeadTopic} or ${RetryHeader.DeadUrl}, not both`,
      RetryHeader.DeadUrl,
    );
  }
  if (deadTopic !== undefined) request.dead_destination = { brokers: ctx.brokers, topic: deadTopic };
  if (deadUrl !== undefined) request.dead_destination = { url: deadUrl };
  const carried = Object.fromEntries(
    Object.entries(headersAsText(record.headers)).filter(([name]) => !requestHeaderNames.includes(name.toLowerCase())),
  );
  if (Object.keys(carried).length > 0) request.headers = carried;
  return request;
}

/** A numeric header; a non-numeric one is passed through as text so the schema names the field in its error. */
function numberHeader(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

function booleanHeader(value: string): boolean | string {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
}

/** `retry-process-at`: epoch milliseconds or ISO 8601 with offset → ISO 8601. */
function processAtIso(value: string): string {
  const trimmed = value.trim();
  if (/^\d{1,15}$/.test(trimmed)) {
    const date = new Date(Number(trimmed));
    if (Number.isNaN(date.getTime())) {
      throw new MalformedMessage('not a valid epoch-milliseconds time', RetryHeader.ProcessAt);
    }
    return date.toISOString();
  }
  if (Number.isNaN(Date.parse(trimmed))) {
    throw new MalformedMessage(
      'must be epoch milliseconds or an ISO 8601 date-time with offset',
      RetryHeader.ProcessAt,
    );
  }
  return trimmed;
}
