import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  makeContinueAsNewFunc,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DestinationMemoKey,
  DestinationState,
  MAX_BREAKER_REPORTS,
  breakerReportSignal,
  destinationLeaveSignal,
  destinationQuery,
  destinationReleaseSignal,
  destinationWaitSignal,
  insertByDue,
  pauseDestinationUpdate,
  releasePacing,
  resumeDestinationUpdate,
  type DestinationChange,
  type DestinationView,
  type WaitingTask,
} from '../domain/destination-pause';

export interface DestinationControlInput {
  key: string;
  /** Carried over by continue-as-new. */
  carried?: { view: DestinationView; waiting: WaitingTask[] };
}

/** Waiting tasks past which the workflow continues as new even if the server does not suggest it yet. */
const MAX_WAITING_PER_RUN = 5_000;

/**
 * The durable pause state of one destination (domain/destination-pause.ts). Pause and resume are updates (the API
 * starts the workflow with the first one); tasks that found the destination paused register with a signal and wait
 * for their release signal; while active, the waiting tasks are released in due order, paced at the resume's rate.
 * Workers report breaker changes with a signal. Runs until terminated; continues as new when its history grows.
 */
export async function destinationControl(input: DestinationControlInput): Promise<void> {
  const view: DestinationView = input.carried?.view ?? {
    key: input.key,
    state: DestinationState.Active,
    tasks_waiting: 0,
    breakers: [],
  };
  let waiting: WaitingTask[] = input.carried?.waiting ?? [];
  let receivedSinceStart = 0;
  const show = () => {
    view.tasks_waiting = waiting.length;
    upsertMemo({ [DestinationMemoKey]: { ...view } });
    const since =
      view.state === DestinationState.Paused ? ` since ${view.paused_at} (${view.reason ?? 'no reason'})` : '';
    setCurrentDetails(`**${view.state}**${since} · ${waiting.length} tasks waiting`);
  };

  setHandler(destinationQuery, () => ({ ...view, tasks_waiting: waiting.length }));
  setHandler(pauseDestinationUpdate, (req): DestinationChange => {
    if (view.state === DestinationState.Paused) return { view: { ...view }, changed: false };
    view.state = DestinationState.Paused;
    view.paused_at = new Date(Date.now()).toISOString();
    view.paused_by = req.by;
    view.reason = req.reason;
    show();
    return { view: { ...view }, changed: true };
  });
  setHandler(resumeDestinationUpdate, (req): DestinationChange => {
    if (view.state === DestinationState.Active) return { view: { ...view }, changed: false };
    view.state = DestinationState.Active;
    view.resumed_at = new Date(Date.now()).toISOString();
    view.resumed_by = req.by;
    view.resume_per_second = req.per_second;
    show();
    return { view: { ...view }, changed: true };
  });
  setHandler(destinationWaitSignal, (task) => {
    waiting = insertByDue(waiting, task);
    receivedSinceStart += 1;
    show();
  });
  setHandler(destinationLeaveSignal, ({ task_id }) => {
    const before = waiting.length;
    waiting = waiting.filter((t) => t.task_id !== task_id);
    if (waiting.length !== before) show();
  });
  setHandler(breakerReportSignal, (report) => {
    const others = view.breakers.filter((b) => b.worker !== report.worker);
    view.breakers = [...others, report].slice(-MAX_BREAKER_REPORTS);
    show();
  });
  if (!input.carried) show();

  for (;;) {
    const needsNewRun = () => workflowInfo().continueAsNewSuggested || receivedSinceStart >= MAX_WAITING_PER_RUN;
    await condition(() => (view.state === DestinationState.Active && waiting.length > 0) || needsNewRun());
    if (needsNewRun()) {
      await condition(allHandlersFinished);
      const next = makeContinueAsNewFunc<typeof destinationControl>({
        memo: { [DestinationMemoKey]: { ...view, tasks_waiting: waiting.length } },
      });
      return next({ key: input.key, carried: { view, waiting } });
    }
    // Resumed: release the next batch in due order, then wait out the pace.
    // Whole-second ticks (domain/destination-pause.ts releasePacing); histories recorded before keep 100 ms ticks.
    const minTickMs = patched('release-pacing-seconds') ? 1000 : 100;
    const { batch, intervalMs } = releasePacing(view.resume_per_second ?? 10, minTickMs);
    const released = waiting.slice(0, batch);
    waiting = waiting.slice(batch);
    show();
    // A task that ended meanwhile (cancelled) cannot take the signal: nothing to release.
    await Promise.allSettled(
      released.map((t) => getExternalWorkflowHandle(t.task_id).signal(destinationReleaseSignal)),
    );
    if (waiting.length > 0) await sleep(intervalMs);
  }
}
