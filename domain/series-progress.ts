import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { SeriesActivityIdPrefix, type SeriesProgress } from './series';

/** The fields of a pending activity (from a workflow's describe) that carry a series' progress. */
export interface PendingActivity {
  activityId?: string | null;
  heartbeatDetails?: { payloads?: Payload[] | null } | null;
}

/**
 * The progress of the task's running attempt series, read from the pending activity's last heartbeat details
 * (domain/series.ts). `activityId` picks one series; otherwise the newest pending series is used. Undefined when no
 * series is pending or it has not heartbeated yet.
 */
export function seriesProgressOf(
  pending: readonly PendingActivity[] | null | undefined,
  activityId?: string,
): SeriesProgress | undefined {
  const series = (pending ?? []).filter((a) =>
    activityId ? a.activityId === activityId : a.activityId?.startsWith(SeriesActivityIdPrefix),
  );
  const newest = series.at(-1);
  const payload = newest?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<SeriesProgress>(payload);
}
