/** Epoch milliseconds of a history event's time (its `eventTime`, seconds and nanos); 0 when it has none. */
export const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
