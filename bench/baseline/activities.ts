import { ApplicationFailure } from '@temporalio/common';

/** Called by the comparison activities on every call, so a benchmark can timestamp arrivals in process. */
export interface BaselineRecorder {
  /**
   * @param id the benchmark id of the workflow
   * @param attempt 1-based attempt number
   * @param ok false for an attempt that failed on purpose
   */
  (id: string, attempt: number, ok: boolean): void;
}

/**
 * The activities of the comparison workflows: `noop` does nothing (the raw-engine ceiling), `failingNoop` fails its
 * first `failFirst` attempts with a retryable ApplicationFailure, then succeeds (the naive retry loop's delivery).
 */
export function createBaselineActivities(record: BaselineRecorder = () => undefined) {
  return {
    /** Does nothing but report that it ran. */
    async noop(id: string): Promise<void> {
      record(id, 1, true);
    },
    /** Fails attempts 1…failFirst (retryable, type `DeliveryFailed`), succeeds after. */
    async failingNoop(id: string, attempt: number, failFirst: number): Promise<void> {
      const ok = attempt > failFirst;
      record(id, attempt, ok);
      if (!ok) throw ApplicationFailure.retryable(`attempt ${attempt} fails on purpose`, 'DeliveryFailed');
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
