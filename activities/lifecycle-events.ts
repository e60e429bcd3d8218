import type { Client } from '@temporalio/client';
import type { JobProgress } from '../domain/jobs';
import {
  LifecycleEventType,
  lifecycleEventsSignal,
  notifierWorkflowId,
  type CoalescedEvent,
  type NotifierInput,
  type RawLifecycleEvent,
} from '../domain/notifications';
import { TaskState } from '../domain/status';
import { describeDestination, tagDestination, type StoredDestination } from '../domain/destination';
import type { Task } from '../domain/task';
import { httpDestinationKey } from '../destinations/http/key';
import { kafkaDestinationKey } from '../destinations/kafka/key';
import { notificationsEnabled, type Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { notificationTasks } from './notification-tasks';

/** Workflow type of the notifier (workflows/lifecycle-notifier.ts). */
export const NotifierWorkflowType = 'lifecycleNotifier';

/** The settings lifecycle notifications need. */
export type NotifyConfig = Pick<
  Config,
  'TASK_QUEUE' | 'NOTIFY_WEBHOOK_URL' | 'NOTIFY_KAFKA_TOPIC' | 'NOTIFY_COALESCE_SECONDS'
>;

/** Hands raw events to the notifier, starting it if it does not run (signal-with-start). */
async function signalNotifier(client: Client, config: NotifyConfig, events: RawLifecycleEvent[]): Promise<void> {
  const input: NotifierInput = { window_ms: Math.round(config.NOTIFY_COALESCE_SECONDS * 1000) };
  await client.workflow.signalWithStart(NotifierWorkflowType, {
    workflowId: notifierWorkflowId(config.TASK_QUEUE),
    taskQueue: config.TASK_QUEUE,
    args: [input],
    signal: lifecycleEventsSignal,
    signalArgs: [events],
    staticSummary: 'lifecycle notifications: coalesces operational events and sends them as retry tasks',
  });
}

/**
 * Reports one lifecycle event (e.g. `destination.paused` from the pause code, in the API or a worker). Does nothing,
 * and costs nothing, when no notification channel is configured. `occurred_at` defaults to now.
 */
export async function emitLifecycleEvent(
  client: Client,
  config: NotifyConfig,
  event: Omit<RawLifecycleEvent, 'occurred_at'> & { occurred_at?: string },
): Promise<void> {
  if (!notificationsEnabled(config)) return;
  await signalNotifier(client, config, [{ ...event, occurred_at: event.occurred_at ?? new Date().toISOString() }]);
}

/** A worker's emitter: events reported within `batchMs` of each other reach the notifier in one signal. */
export interface LifecycleEmitter {
  readonly enabled: boolean;
  /** Resolves once the notifier has the event (or at once when notifications are off). */
  emit(event: RawLifecycleEvent): Promise<void>;
}

export function createLifecycleEmitter(client: Client, config: NotifyConfig, batchMs = 100): LifecycleEmitter {
  const enabled = notificationsEnabled(config);
  let pending: RawLifecycleEvent[] = [];
  let sending: Promise<void> | undefined;
  return {
    enabled,
    emit(event) {
      if (!enabled) return Promise.resolve();
      pending.push(event);
      sending ??= new Promise<void>((resolve) => setTimeout(resolve, batchMs)).then(() => {
        const batch = pending;
        pending = [];
        sending = undefined;
        return signalNotifier(client, config, batch);
      });
      return sending;
    },
  };
}

/** The guard key of a destination (its circuit's name), or its description when it cannot be resolved. */
export type DestinationKeyOf = (d: StoredDestination) => string;

/** Guard keys as the deliveries compute them (destinations/<kind>/key.ts); Kafka clusters resolved by `brokersOf`. */
export function destinationKeyOf(brokersOf: (d: Extract<Task['destination'], { kind: 'kafka' }>) => string[]) {
  return (stored: StoredDestination): string => {
    const d = tagDestination(stored);
    try {
      return d.kind === 'http' ? httpDestinationKey(d.url) : kafkaDestinationKey(brokersOf(d), d.topic);
    } catch {
      return describeDestination(d);
    }
  };
}

/** What a parked task reports (workflows/lifecycle-notify.ts). */
export interface DeadLetteredReport {
  task_id: string;
  state: typeof TaskState.DeadLettered | typeof TaskState.DeadLetterFailed;
  destination: StoredDestination;
  reason: string;
  attempts: number;
}

/**
 * The reporting local activities that retry tasks and bulk jobs call (registered with the delivery activities, so
 * every worker has them; without an emitter, or with notifications off, they return at once).
 */
export function createLifecycleReporters(emitter: LifecycleEmitter | undefined, keyOf: DestinationKeyOf) {
  return {
    /** A task was just parked: task.dead_lettered / task.dead_letter_failed. */
    async notifyTaskDeadLettered(r: DeadLetteredReport): Promise<void> {
      if (!emitter?.enabled) return;
      await emitter.emit({
        type:
          r.state === TaskState.DeadLettered
            ? LifecycleEventType.TaskDeadLettered
            : LifecycleEventType.TaskDeadLetterFailed,
        subject: keyOf(r.destination),
        occurred_at: new Date().toISOString(),
        task_id: r.task_id,
        destination: describeDestination(r.destination),
        details: { reason: r.reason, attempts: r.attempts },
      });
    },
    /** A bulk job just finished: job.completed (its state says how it ended). */
    async notifyJobEnded(p: JobProgress): Promise<void> {
      if (!emitter?.enabled) return;
      const { done, skipped, failed, total, kind, state } = p;
      await emitter.emit({
        type: LifecycleEventType.JobCompleted,
        subject: p.job_id,
        occurred_at: p.finished_at ?? new Date().toISOString(),
        job_id: p.job_id,
        details: { kind, state, total, done, skipped, failed },
      });
    },
  };
}

export interface NotificationSenderDeps {
  config: Config;
  /** Starts a notification task; resolves also when a task with its id already exists. */
  submit: (task: Task) => Promise<void>;
  logger: Logger;
}

/** The notifier's activity: sends one coalesced event as retry tasks to the configured channels. */
export function createNotificationSender(deps: NotificationSenderDeps) {
  return {
    async submitLifecycleNotification(e: CoalescedEvent): Promise<void> {
      const tasks = notificationTasks(e, deps.config);
      await Promise.all(tasks.map((t) => deps.submit(t)));
      deps.logger.info({ event_id: e.id, type: e.type, subject: e.subject, count: e.count }, 'lifecycle event sent');
    },
  };
}

export type NotificationActivities = ReturnType<typeof createLifecycleReporters> &
  ReturnType<typeof createNotificationSender>;
