import { LifecycleEventType, NOTIFICATION_SOURCE, type CoalescedEvent } from '../domain/notifications';
import { TaskInput, type Task, type TaskRequest } from '../domain/task';
import { NOTIFY_SECRET_REF, ackBaseUrl, type Config } from '../platform/config';

/** The body of a notification: Standard Webhooks' `type` / `timestamp` / `data`, with the event's id. */
export interface NotificationBody {
  id: string;
  type: CoalescedEvent['type'];
  /** When the event was sent (ISO 8601). */
  timestamp: string;
  data: {
    /** The destination key or job id the event is about. */
    subject: string;
    /** Raw events coalesced into this one (tasks dead-lettered, circuits opened …). */
    count: number;
    first_occurred_at: string;
    last_occurred_at: string;
    /** A sample of the tasks concerned (at most 20; `count` says how many there were). */
    task_ids: string[];
    destination?: string;
    job_id?: string;
    details?: Record<string, string | number | boolean>;
    links: { self: string } & Record<string, string>;
  };
}

/** The API resources an event is about, under ACK_PUBLIC_BASE_URL (or the API's own address). */
function linksOf(e: CoalescedEvent, base: string): NotificationBody['data']['links'] {
  const t = LifecycleEventType;
  switch (e.type) {
    case t.TaskDeadLettered:
    case t.TaskDeadLetterFailed: {
      const list = `${base}/dead-letters?status=${e.type === t.TaskDeadLettered ? 'dead_lettered' : 'dead_letter_failed'}`;
      const one = e.task_ids.length === 1 ? `${base}/tasks/${encodeURIComponent(e.task_ids[0]!)}` : undefined;
      return { self: one ?? list, dead_letters: list };
    }
    case t.DestinationFailing:
    case t.DestinationRecovered:
    case t.DestinationPaused:
    case t.DestinationResumed: {
      // GET /destinations lists every destination with its state; pause and resume act on this one.
      const one = `${base}/destinations/${encodeURIComponent(e.subject)}`;
      return { self: `${base}/destinations`, pause: `${one}/pause`, resume: `${one}/resume` };
    }
    case t.JobCompleted:
      return { self: `${base}/jobs/${encodeURIComponent(e.job_id ?? e.subject)}` };
    default: {
      const never: never = e.type;
      throw new Error(`unhandled lifecycle event type: ${String(never)}`);
    }
  }
}

export function notificationBody(e: CoalescedEvent, config: Config, now = new Date()): NotificationBody {
  return {
    id: e.id,
    type: e.type,
    timestamp: now.toISOString(),
    data: {
      subject: e.subject,
      count: e.count,
      first_occurred_at: e.first_occurred_at,
      last_occurred_at: e.last_occurred_at,
      task_ids: e.task_ids,
      ...(e.destination !== undefined ? { destination: e.destination } : {}),
      ...(e.job_id !== undefined ? { job_id: e.job_id } : {}),
      ...(e.details !== undefined ? { details: e.details } : {}),
      links: linksOf(e, ackBaseUrl(config)),
    },
  };
}

/**
 * The retry tasks that carry one coalesced event: one per configured channel (NOTIFY_WEBHOOK_URL, signed when
 * NOTIFY_WEBHOOK_SECRET is set; NOTIFY_KAFKA_TOPIC). Ids derive from the event id, so handing the same event over
 * twice starts nothing twice. Their source marks them: their own dead-lettering emits no event.
 */
export function notificationTasks(e: CoalescedEvent, config: Config, now = new Date()): Task[] {
  const common = {
    source: NOTIFICATION_SOURCE,
    client_id: 'retry-service',
    message_data: JSON.stringify(notificationBody(e, config, now)),
    key: `${e.type} ${e.subject}`.slice(0, 1024),
    // Attempt 1 at once; then waits of 5 s doubling up to 5 minutes.
    deliver_at: now.toISOString(),
    max_retries: config.NOTIFY_MAX_RETRIES,
    base_delay: 5,
    max_delay: 300,
  };
  const requests: TaskRequest[] = [];
  if (config.NOTIFY_WEBHOOK_URL !== undefined) {
    requests.push({
      ...common,
      id: `notify-${e.id}-webhook`,
      destination_type: 'http',
      destination: {
        url: config.NOTIFY_WEBHOOK_URL,
        ...(config.NOTIFY_WEBHOOK_SECRET !== undefined ? { signing_secret_ref: NOTIFY_SECRET_REF } : {}),
      },
    });
  }
  if (config.NOTIFY_KAFKA_TOPIC !== undefined) {
    const cluster = config.NOTIFY_KAFKA_CLUSTER;
    requests.push({
      ...common,
      id: `notify-${e.id}-kafka`,
      destination_type: 'kafka',
      destination: {
        topic: config.NOTIFY_KAFKA_TOPIC,
        ...(cluster !== undefined ? { cluster } : { brokers: config.KAFKA_BROKERS ?? [] }),
      },
    });
  }
  return requests.map((r) => TaskInput.parse(r));
}
