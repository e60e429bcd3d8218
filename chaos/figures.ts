/** What one chaos scenario measured. */
export interface Figures {
  scenario: string;
  tasks: number;
  kills: number;
  /** Tasks never delivered (must be 0). */
  lost: number;
  /** Deliveries beyond the first per Idempotency-Key. */
  duplicates: number;
  /** The bound on duplicates: deliveries in flight at the kills (at most one extra each). */
  duplicateBound: number;
  /** Deliveries before the task's due time (must be 0). */
  early: number;
  /** Arrival − due time of each task's first delivery, milliseconds. */
  latenessMs: { p50: number; p99: number; max: number };
  /** Our processes and servers still running after the scenario (must be 0). */
  leftovers: number;
  notes: string;
}

/** Scenario-specific counts; the rest is derived from arrivals. */
export interface Observed {
  scenario: string;
  /** Due time of each task (epoch ms). */
  due: Map<string, number>;
  /** Arrival times per task id. */
  arrivals: Map<string, number[]>;
  kills: number;
  duplicateBound: number;
  leftovers: number;
  notes?: string;
}

/** Scheduling tolerance: the due time is taken before the submit request, so a 0 ms margin is strict. */
const EARLY_TOLERANCE_MS = 0;

export function figuresOf(o: Observed): Figures {
  let lost = 0;
  let duplicates = 0;
  let early = 0;
  const lateness: number[] = [];
  for (const [id, due] of o.due) {
    const times = [...(o.arrivals.get(id) ?? [])].sort((a, b) => a - b);
    if (times.length === 0) {
      lost++;
      continue;
    }
    duplicates += times.length - 1;
    early += times.filter((t) => t < due - EARLY_TOLERANCE_MS).length;
    lateness.push(times[0]! - due);
  }
  lateness.sort((a, b) => a - b);
  const at = (q: number) =>
    lateness.length ? lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))]! : 0;
  return {
    scenario: o.scenario,
    tasks: o.due.size,
    kills: o.kills,
    lost,
    duplicates,
    duplicateBound: o.duplicateBound,
    early,
    latenessMs: { p50: at(0.5), p99: at(0.99), max: lateness.at(-1) ?? 0 },
    leftovers: o.leftovers,
    notes: o.notes ?? '',
  };
}
