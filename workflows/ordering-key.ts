import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  KeyBehaviour,
  enqueueSignal,
  gatherUntil as gatherUntilFrom,
  keyQueueQuery,
  turnEndedSignal,
  turnSignal,
} from '../domain/ordering';
import { grantLocally } from './ordering-handoff';
import { OrderingQueue, type OrderingQueueState } from './ordering-queue';

/** How often the key checks that the task holding its turn still runs (a task terminated from the Web UI). */
export const HEAD_PROBE_MS = 3600_000;
/** History length at which a key workflow continues as new. */
export const KEY_HISTORY_EVENTS = 2000;
/** How many queued tasks a grant names for the holder to hand the turn on to (domain/ordering.ts TurnGrant). */
export const HANDOFF_AHEAD = 20;

export interface OrderingKeyInput {
  ordering_key: string;
  carried?: OrderingQueueState;
  /** @default {@link HEAD_PROBE_MS} */
  probe_interval_ms?: number;
  /** @default {@link KEY_HISTORY_EVENTS} */
  max_history_events?: number;
  /**
   * No grant before this instant (ISO 8601): a key workflow restarted after the previous one was terminated waits
   * until every waiting task has rejoined (workflows/ordering-join.ts), then grants in acceptance order.
   */
  gather_until?: string;
  /**
   * Started by a task's starter that found the key workflow terminated: gathers as {@link gather_until} would, until
   * the instant computed in workflow time when it starts (the starter's clock may differ from the server's).
   */
  restarted?: boolean;
  /** Behaviour version (domain/ordering.ts KeyBehaviour); absent = Initial, as keys started before it. Carried on. */
  behaviour?: KeyBehaviour;
}

/**
 * The queue of one ordering key (domain/ordering.ts): tasks enqueue themselves by signal (their starter uses
 * signal-with-start), the head is told by signal that it may proceed, and tells back when its turn ended. A grant
 * names the next tasks: the holder hands the turn straight on and says so, so a chain of tasks runs without waiting
 * for the key between them (behaviour Chain: says so only when the chain ends, naming every task that ended in it).
 * The head is probed now and then: a task that cannot be reached (terminated, or never started) leaves the queue.
 * Runs until terminated, continuing as new to keep its history short.
 */
export async function orderingKey(input: OrderingKeyInput): Promise<void> {
  const queue = new OrderingQueue(input.carried);
  const key = input.ordering_key;
  const probeMs = input.probe_interval_ms ?? HEAD_PROBE_MS;
  const maxEvents = input.max_history_events ?? KEY_HISTORY_EVENTS;
  // Earlier keys decide the hand-off list and the single probe timer by patch markers; unmarked keys take both.
  const unmarked = (input.behaviour ?? KeyBehaviour.Initial) >= KeyBehaviour.Unmarked;
  const gatherUntil = input.gather_until ?? (input.restarted ? gatherUntilFrom(Date.now()) : undefined);
  let changed = false;
  setHandler(enqueueSignal, (...entries) => {
    for (const entry of entries) if (queue.enqueue(entry)) changed = true;
  });
  setHandler(turnEndedSignal, (ended) => {
    queue.turnEnded(ended);
    changed = true;
  });
  setHandler(keyQueueQuery, () => queue.view(key));

  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;

  /**
   * Signals the task its turn (a new grant names the tasks behind it); false when it cannot be reached. A task that
   * started deferred is granted by a local activity's signal-with-start, which wakes it (domain/ordering.ts).
   */
  const reach = async (taskId: string, grant = false, deferred = false): Promise<boolean> => {
    const then = grant && (unmarked || patched('ordering-handoff')) ? { then: queue.promiseNext(HANDOFF_AHEAD) } : {};
    const turn = { granted_at: new Date(Date.now()).toISOString(), ...then };
    if (deferred) return grantLocally(key, taskId, turn);
    try {
      await getExternalWorkflowHandle(taskId).signal(turnSignal, turn);
      return true;
    } catch (err) {
      log.warn('ordered task not reachable; it leaves the queue', { task_id: taskId, error: String(err) });
      return false;
    }
  };

  // One probe timer runs while some task holds the turn, however often the holder changes (a timer per holder would
  // cost two events per task); a key with no holder keeps none.
  const steadyProbe = unmarked || patched('ordering-probe');
  let probeArmed = false;
  let probeDue = false;
  const armProbe = () => {
    if (probeArmed) return;
    probeArmed = true;
    void sleep(probeMs).then(() => {
      probeArmed = false;
      probeDue = true;
    });
  };

  for (;;) {
    const head = queue.head;
    setCurrentDetails(
      head
        ? `**${queue.length} queued** · ${head.task_id} ${queue.view(key).head_holds ? 'holds the key (dead-lettered, block)' : 'has the turn'}`
        : '**idle** · no task queued',
    );
    const gatherMs = gatherUntil !== undefined ? Date.parse(gatherUntil) - Date.now() : 0;
    if (gatherMs > 0) {
      setCurrentDetails(`**gathering** · restarted; waiting tasks rejoin until ${gatherUntil}`);
      await condition(() => tooLong(), gatherMs);
      if (tooLong()) break;
      continue;
    }
    const due = queue.grantDue;
    if (due) {
      queue.granting = true;
      const reached = await reach(due.task_id, true, due.deferred === true);
      queue.granting = false;
      // The head may have ended while the signal was on its way; only the same head changes.
      if (queue.head?.task_id === due.task_id && queue.grantDue) {
        if (reached) queue.granted();
        else queue.dropHead();
      }
      continue;
    }
    if (tooLong()) break;
    changed = false;
    const holder = queue.headActive ? queue.head!.task_id : undefined;
    if (steadyProbe) {
      if (probeDue) {
        probeDue = false;
        if (holder !== undefined && !(await reach(holder)) && queue.head?.task_id === holder) queue.dropHead();
        continue;
      }
      if (holder !== undefined) armProbe();
      await condition(() => changed || probeDue || tooLong());
    } else if (holder === undefined) {
      await condition(() => changed || tooLong());
    } else if (!(await condition(() => changed || tooLong(), probeMs))) {
      if (!(await reach(holder)) && queue.head?.task_id === holder) queue.dropHead();
    }
  }
  await condition(allHandlersFinished);
  const gathered = gatherUntil !== undefined ? { gather_until: gatherUntil } : {};
  await continueAsNew<typeof orderingKey>({ ...input, ...gathered, carried: queue.carry() });
}
