/** A history in its stored JSON form (stored-history.ts): ids as strings, enums by name, bytes in base64. */
interface StoredEvent {
  eventId: string;
  eventType: string;
  eventTime?: unknown;
  [attributes: string]: unknown;
}
interface StoredHistory {
  events: StoredEvent[];
}
type Attributes = Record<string, unknown>;

/**
 * The same run as `stored`, but with the workflow task that recorded the local activity `activityType` (its last
 * marker) completed right after that marker: the commands that followed it move to a new workflow task, as when the
 * activity finished just after a workflow-task heartbeat (seen on a loaded machine). Events after the marker shift by
 * the three inserted, and every reference to them with them.
 */
export function splitAfterLocalActivity(stored: string, activityType: string): string {
  const events = (JSON.parse(stored) as StoredHistory).events;
  const at = events.findLastIndex((e) => localActivityTypeOf(e) === activityType);
  if (at < 0) throw new Error(`no local activity ${activityType} in the history`);
  const marker = events[at]!;
  const markerId = Number(marker.eventId);
  const completedId = Number(attributesOf(marker).workflowTaskCompletedEventId);
  const byId = (id: unknown) => events.find((e) => Number(e.eventId) === Number(id))!;
  const completed = byId(completedId);
  const scheduled = byId(attributesOf(completed).scheduledEventId);
  const started = byId(attributesOf(completed).startedEventId);

  const [newScheduled, newStarted, newCompleted] = [markerId + 1, markerId + 2, markerId + 3].map(String);
  const copy = (e: StoredEvent, id: string, attrs: Attributes): StoredEvent => {
    const out = structuredClone(e);
    Object.assign(attributesOf(out), attrs);
    return { ...out, eventId: id, eventTime: marker.eventTime };
  };
  const inserted = [
    copy(scheduled, newScheduled!, {}),
    copy(started, newStarted!, { scheduledEventId: newScheduled }),
    copy(completed, newCompleted!, { scheduledEventId: newScheduled, startedEventId: newStarted }),
  ];
  const shift = (id: number) => (id > markerId ? id + 3 : id);
  const later = events.slice(at + 1).map((e) => {
    const out = structuredClone(e);
    out.eventId = String(shift(Number(e.eventId)));
    const attrs = attributesOf(out);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.endsWith('EventId') && typeof v === 'string' && v !== '') attrs[k] = String(shift(Number(v)));
    }
    // The commands of the split workflow task now belong to the new one.
    if (Number(attributesOf(e).workflowTaskCompletedEventId) === completedId) {
      attrs.workflowTaskCompletedEventId = newCompleted;
    }
    return out;
  });
  return JSON.stringify({ events: [...events.slice(0, at + 1), ...inserted, ...later] });
}

/** The types of the local activities recorded in a stored history. */
export function localActivityTypes(stored: string): string[] {
  const events = (JSON.parse(stored) as StoredHistory).events;
  return [...new Set(events.map(localActivityTypeOf).filter((t): t is string => t !== undefined))].sort();
}

function localActivityTypeOf(e: StoredEvent): string | undefined {
  if (e.eventType !== 'EVENT_TYPE_MARKER_RECORDED') return undefined;
  const marker = attributesOf(e) as { markerName?: string; details?: { data?: { payloads?: { data?: string }[] } } };
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (marker.markerName !== 'core_local_activity' || !data) return undefined;
  return (JSON.parse(Buffer.from(data, 'base64').toString()) as { activity_type?: string }).activity_type;
}

/** The event's `…EventAttributes` object. */
function attributesOf(e: StoredEvent): Attributes {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
  if (!key) throw new Error(`event ${e.eventId} has no attributes`);
  return e[key] as Attributes;
}
