/** Bounds of a task's policy fields, shared by the task schema (task.ts) and the workflow's requeue checks. */
export const policyLimits = {
  /** Longest wait, deadline or retention, seconds (one year). */
  maxSeconds: 365 * 24 * 3600,
  /** Most attempts a task may make. */
  maxRetries: 1000,
  /** Per-attempt HTTP timeout bounds, seconds. */
  httpTimeout: { min: 0.1, max: 600 },
  /** Receiver acknowledgement timeout bounds, seconds (1 s … 7 days). */
  ackTimeout: { min: 1, max: 7 * 24 * 3600 },
} as const;
