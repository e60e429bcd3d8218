import { defineSignal } from '@temporalio/workflow';

/**
 * Lifecycle notifications: operational events (a task dead-lettered, a destination failing …) coalesced per
 * (type, subject) over a window by the notifier workflow (workflows/lifecycle-notifier.ts), then delivered as
 * ordinary retry tasks to the configured webhook and/or Kafka topic (activities/lifecycle-events.ts).
 */
export const LifecycleEventType = {
  TaskDeadLettered: 'task.dead_lettered',
  TaskDeadLetterFailed: 'task.dead_letter_failed',
  /** A destination's circuit opened (it failed BREAKER_CONSECUTIVE_FAILURES times in a row). */
  DestinationFailing: 'destination.failing',
  /** A failing destination's circuit closed again. */
  DestinationRecovered: 'destination.recovered',
  DestinationPaused: 'destination.paused',
  DestinationResumed: 'destination.resumed',
  /** A bulk job finished (`data.state` says how: completed, cancelled or failed). */
  JobCompleted: 'job.completed',
} as const;
export type LifecycleEventType = (typeof LifecycleEventType)[keyof typeof LifecycleEventType];
export const lifecycleEventTypes = Object.values(LifecycleEventType);

/** One raw event, as an emitter reports it. Subjects group events: a destination's guard key, or a job id. */
export interface RawLifecycleEvent {
  type: LifecycleEventType;
  /** What the event is about: the destination's key (origin, or kafka://brokers/topic), or the job id. */
  subject: string;
  /** ISO 8601. */
  occurred_at: string;
  task_id?: string;
  job_id?: string;
  /** Human description of the destination (no secrets). */
  destination?: string;
  /** Small facts of the last event (reason, state, counts …). */
  details?: Record<string, string | number | boolean>;
}

/** Raw events reach the notifier in batches by this signal (signal-with-start from worker or API code). */
export const lifecycleEventsSignal = defineSignal<[RawLifecycleEvent[]]>('lifecycleEvents');

/** Task ids kept per coalesced event. */
export const TASK_ID_SAMPLE = 20;
/** Source of the retry tasks that carry notifications: their own dead-lettering notifies nobody (no loop). */
export const NOTIFICATION_SOURCE = 'retry-service.notifications';

/** The notifier workflow's id for a task queue: one notifier per deployment. */
export const notifierWorkflowId = (taskQueue: string) => `notifications-${taskQueue}`;

/** Whether a task carries a notification (then it emits none itself). */
export const isNotificationTask = (task: { source: string }) => task.source === NOTIFICATION_SOURCE;

/** Raw events of one (type, subject) within one window. */
export interface Bucket {
  type: LifecycleEventType;
  subject: string;
  count: number;
  /** When the window opened, ms since epoch (workflow time). */
  opened_ms: number;
  first_occurred_at: string;
  last_occurred_at: string;
  task_ids: string[];
  job_id?: string;
  destination?: string;
  details?: Record<string, string | number | boolean>;
}

/** A coalesced event, handed to the delivering activity; it adds the links and sends it. */
export interface CoalescedEvent extends Omit<Bucket, 'opened_ms'> {
  /** Unique and stable: the notification tasks' ids derive from it, so a retried hand-over starts nothing twice. */
  id: string;
}

/** The notifier's state, carried across continue-as-new. */
export interface NotifierState {
  buckets: Bucket[];
  /** Subjects whose destination.failing was sent and no destination.recovered since (several workers open). */
  failing: string[];
}

export interface NotifierInput {
  /** The coalescing window, milliseconds. */
  window_ms: number;
  carried?: NotifierState;
}

const MAX_FAILING = 1_000;

/**
 * Coalescing (pure): events of one (type, subject) within a window become one event with a count and a sample of
 * task ids. destination.failing is sent once per outage: again only after a destination.recovered (and a recovery
 * only for a subject reported failing), however many workers' breakers open and half-open meanwhile.
 */
export class Coalescer {
  private readonly buckets = new Map<string, Bucket>();
  private readonly failing: Set<string>;

  constructor(carried?: NotifierState) {
    for (const b of carried?.buckets ?? []) this.buckets.set(`${b.type} ${b.subject}`, b);
    this.failing = new Set(carried?.failing ?? []);
  }

  get size(): number {
    return this.buckets.size;
  }

  add(e: RawLifecycleEvent, nowMs: number): void {
    if (e.type === LifecycleEventType.DestinationFailing) {
      if (this.failing.has(e.subject)) return;
      if (this.failing.size >= MAX_FAILING) this.failing.delete(this.failing.values().next().value!);
      this.failing.add(e.subject);
    } else if (e.type === LifecycleEventType.DestinationRecovered) {
      if (!this.failing.delete(e.subject)) return;
    }
    const key = `${e.type} ${e.subject}`;
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, {
        type: e.type,
        subject: e.subject,
        count: 1,
        opened_ms: nowMs,
        first_occurred_at: e.occurred_at,
        last_occurred_at: e.occurred_at,
        task_ids: e.task_id !== undefined ? [e.task_id] : [],
        ...(e.job_id !== undefined ? { job_id: e.job_id } : {}),
        ...(e.destination !== undefined ? { destination: e.destination } : {}),
        ...(e.details !== undefined ? { details: e.details } : {}),
      });
      return;
    }
    b.count += 1;
    if (e.occurred_at > b.last_occurred_at) b.last_occurred_at = e.occurred_at;
    if (e.occurred_at < b.first_occurred_at) b.first_occurred_at = e.occurred_at;
    if (e.task_id !== undefined && b.task_ids.length < TASK_ID_SAMPLE) b.task_ids.push(e.task_id);
    if (e.details !== undefined) b.details = e.details;
  }

  /** Milliseconds until the oldest window closes (0: something is due now); undefined when empty. */
  nextDueInMs(nowMs: number, windowMs: number): number | undefined {
    let first: number | undefined;
    for (const b of this.buckets.values()) first = first === undefined ? b.opened_ms : Math.min(first, b.opened_ms);
    return first === undefined ? undefined : Math.max(0, first + windowMs - nowMs);
  }

  /** Removes and returns the buckets whose window has closed, oldest first. */
  takeDue(nowMs: number, windowMs: number): Bucket[] {
    const due = [...this.buckets.entries()].filter(([, b]) => b.opened_ms + windowMs <= nowMs);
    for (const [key] of due) this.buckets.delete(key);
    return due.map(([, b]) => b).sort((a, b) => a.opened_ms - b.opened_ms);
  }

  snapshot(): NotifierState {
    return { buckets: [...this.buckets.values()], failing: [...this.failing] };
  }
}
