import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ackTimeoutOf } from '../domain/ack';
import { deliverOnceBy, type DeliveryReceipt, type DeliveryRequest, type FailureContext } from '../domain/delivery';
import { DeliveryFailureType } from '../domain/failures';
import { describeDestination, priorityKeyOf } from '../domain/destination';
import { SeriesEndedType, type ReleaseOptions, type SeriesProgress, type SeriesResult } from '../domain/series';
import type { TurnHandOff } from '../domain/ordering';
import type { Destination, Task } from '../domain/task';

/** Dead-letter deliveries run on their own bounded Temporal retry policy: about 30 minutes of tries. */
export const deadLetterRetryPolicy: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [DeliveryFailureType.Permanent],
};

/**
 * The activities a retry task calls, with their options: the attempt series (the task's retries, held by the
 * server), the dead-letter delivery (its own bounded policy) and the local read of a series' live progress.
 * Activity names are part of recorded histories: keep them. `ackRound` is the task's requeue count (ack tokens).
 */
export function taskActivities(task: Task, release: ReleaseOptions | undefined, ackRound = 0) {
  const timeoutMs = Math.round(task.http_timeout * 1000);
  const options = (destination: Destination): ActivityOptions => ({
    startToCloseTimeout: timeoutMs + 30_000,
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1 },
    priority: { priorityKey: priorityKeyOf(task) },
    summary: describeDestination(destination),
  });
  const request = (attempt: number, kind: DeliveryRequest['kind'], destination: Destination): DeliveryRequest => ({
    task_id: task.id,
    attempt,
    kind,
    destination,
    message_data: task.message_data,
    key: task.key,
    headers: task.headers,
    source: task.source,
    client_id: task.client_id,
    timeout_ms: timeoutMs,
    // The ack token names the requeue round (domain/ack.ts); absent for destinations without ack_timeout.
    ...(ackTimeoutOf(destination) !== undefined ? { ack_round: ackRound } : {}),
  });
  const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });

  return {
    /**
     * Attempts `firstAttempt`…max_retries as one activity whose Temporal retries are the task's retries. With
     * `releaseAtMs` the series is armed: it waits in a worker of the release queue and starts at that instant.
     */
    deliverSeries(
      activityId: string,
      firstAttempt: number,
      deadlineMs: number | undefined,
      releaseAtMs?: number,
      released?: boolean,
      handOff?: TurnHandOff,
    ): Promise<SeriesResult> {
      const leadMs = releaseAtMs !== undefined ? Math.max(0, releaseAtMs - Date.now()) : 0;
      const acts = proxyActivities<Activities>({
        ...options(task.destination),
        // An armed series waits in a worker of the release queue first (one heartbeat during the lead).
        ...(releaseAtMs !== undefined && release
          ? {
              taskQueue: release.task_queue,
              startToCloseTimeout: leadMs + timeoutMs + 30_000,
              heartbeatTimeout: leadMs + 15_000,
            }
          : {}),
        activityId,
        summary: `attempts ${firstAttempt}–${task.max_retries} to ${describeDestination(task.destination)}`,
        retry: {
          // The activity sets every wait itself (nextRetryDelay). This policy only paces attempts that die without a
          // report (worker lost); those count against max_retries only if they were marked in flight (outcome unknown).
          initialInterval: `${Math.max(1, task.base_delay)} seconds`,
          backoffCoefficient: 2,
          maximumInterval: `${Math.max(1, task.max_delay ?? 365 * 24 * 3600)} seconds`,
          nonRetryableErrorTypes: [DeliveryFailureType.Permanent, SeriesEndedType],
        },
      });
      return acts.deliverSeries({
        delivery: { ...request(firstAttempt, 'primary', task.destination), ...(released ? { released } : {}) },
        first_attempt: firstAttempt,
        max_attempts: task.max_retries,
        policy: { base_delay: task.base_delay, max_delay: task.max_delay, jitter: task.jitter },
        deadline_ms: deadlineMs,
        ...(releaseAtMs !== undefined ? { release_at_ms: releaseAtMs } : {}),
        ...(handOff ? { hand_off: handOff } : {}),
      });
    },

    /** Sends the message and the failure context to the dead destination. */
    deliverDeadLetter(dead: Destination, failure: FailureContext): Promise<DeliveryReceipt> {
      const acts = proxyActivities<Activities>({ ...options(dead), retry: deadLetterRetryPolicy });
      return deliverOnceBy(acts)({ ...request(1, 'dead_letter', dead), failure });
    },

    /**
     * The live progress of a pending series (null when it cannot be read). `command` releases an armed series in the
     * same worker at once (retry-now) or holds it back (cancel, requeue).
     */
    readSeriesProgress(
      workflowId: string,
      runId: string,
      activityId: string,
      command?: 'release_now' | 'hold',
    ): Promise<SeriesProgress | null> {
      return local
        .readSeriesProgress({
          workflow_id: workflowId,
          run_id: runId,
          activity_id: activityId,
          ...(command !== undefined ? { command } : {}),
        })
        .catch(() => null);
    },
  };
}

export type TaskActivities = ReturnType<typeof taskActivities>;
