import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/lifecycle-events';
import { Coalescer, lifecycleEventsSignal, type NotifierInput } from '../domain/notifications';

/** History length at which the notifier continues as new. */
export const NOTIFIER_HISTORY_EVENTS = 2000;

// Handing an event over starts retry tasks: quick, retried until Temporal takes them (they are idempotent by id).
const { submitLifecycleNotification } = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '1 minute' },
});

/**
 * The notifier (one per task queue, id `notifications-<TASK_QUEUE>`): raw lifecycle events arrive by signal-with-start,
 * are coalesced per (type, subject) over `window_ms` (domain/notifications.ts), and each coalesced event is handed to
 * {@link submitLifecycleNotification}, which sends it as ordinary retry tasks (retried, dead-lettered, visible like
 * any task). Sleeps without timers while nothing is pending; continues as new to keep its history short.
 */
export async function lifecycleNotifier(input: NotifierInput): Promise<void> {
  const coalescer = new Coalescer(input.carried);
  let sent = 0;
  setHandler(lifecycleEventsSignal, (events) => {
    for (const e of events) coalescer.add(e, Date.now());
  });
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > NOTIFIER_HISTORY_EVENTS;

  while (!tooLong()) {
    setCurrentDetails(`**${coalescer.size} pending** · ${sent} notification(s) sent by this run`);
    const waitMs = coalescer.nextDueInMs(Date.now(), input.window_ms);
    if (waitMs === undefined) {
      await condition(() => coalescer.size > 0 || tooLong());
      continue;
    }
    if (waitMs > 0) {
      // New events join their buckets meanwhile; the oldest window decides when to look again.
      await condition(() => tooLong(), waitMs);
      continue;
    }
    for (const bucket of coalescer.takeDue(Date.now(), input.window_ms)) {
      const { opened_ms: _opened, ...event } = bucket;
      await submitLifecycleNotification({ ...event, id: `evt_${uuid4()}` });
      sent += 1;
    }
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof lifecycleNotifier>({ ...input, carried: coalescer.snapshot() });
}
