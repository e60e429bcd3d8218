import { setCurrentDetails, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { AttemptKey, NextAttemptAtKey, TaskStatusKey } from '../domain/search-attributes';
import { TaskState, type TaskStatus } from '../domain/status';
import { StatusMemoKey, nearlySameInstant, restingStates } from '../domain/visibility';

/**
 * Shows a task's status outside the workflow on each transition: the Web UI's current details always; the search
 * attributes and (lean behaviour) the status memo as domain/visibility.ts describes. Lean writes only what changed
 * since the run started or last wrote it, so a task delivered at its first try writes none.
 */
export class Visibility {
  private state: string | undefined;
  private attempt: number | undefined;
  private nextAt: string | undefined;
  private memo: { state?: string; nextAt?: string; attempt?: number; lines?: number };

  constructor(private readonly lean: boolean) {
    const sa = workflowInfo().typedSearchAttributes;
    this.state = sa.get(TaskStatusKey);
    this.attempt = sa.get(AttemptKey);
    this.nextAt = sa.get(NextAttemptAtKey)?.toISOString();
    const memo = workflowInfo().memo?.[StatusMemoKey] as TaskStatus | undefined;
    this.memo = {
      state: memo?.state,
      nextAt: memo?.next_attempt_at,
      attempt: memo?.attempt,
      lines: memo?.attempts.length,
    };
  }

  /** The status as the memo of this run holds it, if the starter or a previous run wrote one. */
  static memoStatus(): TaskStatus | undefined {
    return workflowInfo().memo?.[StatusMemoKey] as TaskStatus | undefined;
  }

  show(status: TaskStatus): void {
    setCurrentDetails(`**${status.state}** · ${status.details}`);
    const nextAt = status.next_attempt_at;
    if (!this.lean) {
      upsertSearchAttributes([
        { key: TaskStatusKey, value: status.state },
        { key: AttemptKey, value: status.attempt },
        { key: NextAttemptAtKey, value: nextAt ? new Date(nextAt) : null },
      ]);
      return;
    }
    // A completed execution whose last recorded state is in flight succeeded (closedState): nothing to write.
    if (status.state === TaskState.Succeeded) return;
    const updates: Parameters<typeof upsertSearchAttributes>[0] = [];
    if (status.state !== this.state) updates.push({ key: TaskStatusKey, value: status.state });
    if (status.attempt !== this.attempt) updates.push({ key: AttemptKey, value: status.attempt });
    if (!nearlySameInstant(nextAt, this.nextAt)) {
      updates.push({ key: NextAttemptAtKey, value: nextAt ? new Date(nextAt) : null });
    }
    if (updates.length > 0) upsertSearchAttributes(updates);
    this.state = status.state;
    this.attempt = status.attempt;
    this.nextAt = nextAt;
    // The memo is the status while the task rests; while a series runs, the API merges the series' live progress
    // into it, so it must hold the log lines made before this series (a retry-now splits a series in two).
    const resting = restingStates.includes(status.state);
    if (!resting && status.attempts.length === (this.memo.lines ?? 0)) return;
    const same =
      status.state === this.memo.state &&
      status.attempt === this.memo.attempt &&
      status.attempts.length === this.memo.lines &&
      nearlySameInstant(nextAt, this.memo.nextAt);
    if (same) return;
    upsertMemo({ [StatusMemoKey]: { ...status, attempts: [...status.attempts] } });
    this.memo = { state: status.state, nextAt, attempt: status.attempt, lines: status.attempts.length };
  }
}
