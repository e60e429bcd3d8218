import { destinationKind, tagDestination, type StoredDestination } from './destination';
import { policyLimits } from './limits';
import type { RequeueOverrides, SentRequeueOverrides, Task } from './task';

/**
 * Requeue overrides inside the workflow, without zod. The API and the CLI validate overrides with the full schema
 * (task.ts `RequeueOverrides`) before they send the update; the workflow's validator repeats the cheap checks below
 * so a hand-sent signal or update cannot put a task into a state its schema forbids.
 */

const overrideKeys: ReadonlySet<string> = new Set<keyof RequeueOverrides>([
  'message_data',
  'key',
  'headers',
  'destination',
  'dead_destination',
  'max_retries',
  'base_delay',
  'max_delay',
  'jitter',
  'delay_tier',
  'deliver_at',
  'max_duration',
  'http_timeout',
]);

const { maxSeconds, maxRetries, httpTimeout } = policyLimits;
const numberRules: Record<string, { min: number; max: number; integer?: boolean }> = {
  max_retries: { min: 0, max: maxRetries, integer: true },
  base_delay: { min: 0, max: maxSeconds },
  max_delay: { min: 0, max: maxSeconds },
  max_duration: { min: 0, max: maxSeconds },
  http_timeout: httpTimeout,
};

/** Why `overrides` cannot apply to `task` (the message names the field), or undefined when they can. */
export function requeueOverridesProblem(overrides: unknown, task: Task): string | undefined {
  if (overrides === undefined) return undefined;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    return 'overrides must be an object';
  }
  const o = overrides as Record<string, unknown>;
  for (const [field, value] of Object.entries(o)) {
    if (!overrideKeys.has(field)) return `overrides.${field}: unknown field`;
    const rule = numberRules[field];
    if (rule && value !== undefined) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        value >= rule.min &&
        value <= rule.max &&
        (!rule.integer || Number.isInteger(value));
      if (!ok)
        return `overrides.${field}: must be ${rule.integer ? 'an integer' : 'a number'} in [${rule.min}, ${rule.max}]`;
    }
  }
  const dest = o.destination;
  if (dest !== undefined) {
    if (typeof dest !== 'object' || dest === null) return 'overrides.destination must be an object';
    if (destinationKind(dest as StoredDestination) !== task.destination_type) {
      return `overrides.destination must be a ${task.destination_type} destination`;
    }
  }
  const base = (o.base_delay as number | undefined) ?? task.base_delay;
  const cap = o.max_delay !== undefined ? (o.max_delay as number) : task.max_delay;
  if (cap !== undefined && cap < base) return 'overrides.max_delay: max_delay cannot be less than base_delay';
  if (o.delay_tier !== undefined && o.deliver_at !== undefined) {
    return 'overrides.deliver_at: give delay_tier or deliver_at, not both';
  }
  return undefined;
}

/**
 * The task a requeue continues with: the overrides replace fields (a new delay_tier replaces deliver_at and the
 * other way round). Without a new first delay the task is tried at once (`timed` false).
 */
export function applyRequeueOverrides(
  task: Task,
  overrides: SentRequeueOverrides = {},
): { task: Task; timed: boolean } {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as RequeueOverrides;
  // Overrides sent without a destination's kind get it here, as parsed ones have it.
  if (defined.destination) defined.destination = tagDestination(defined.destination);
  if (defined.dead_destination) defined.dead_destination = tagDestination(defined.dead_destination);
  const merged = { ...task, ...defined } as Task;
  const timed = defined.delay_tier !== undefined || defined.deliver_at !== undefined;
  if (!timed) return { task: { ...merged, delay_tier: undefined, deliver_at: undefined }, timed };
  if (defined.delay_tier !== undefined) merged.deliver_at = undefined;
  else merged.delay_tier = undefined;
  return { task: merged, timed };
}
