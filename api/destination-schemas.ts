import { z } from 'zod';
import { DestinationState } from '../domain/destination-pause';

/** Schemas of destination pause and resume: GET /destinations, POST /destinations/{key}/pause and …/resume. */

/**
 * A destination key as the breaker keys it: an HTTP origin (`https://host:port`, lower case, no path) or a Kafka
 * topic on its brokers (`kafka://host:port,host:port/topic`). In a path it is URL-encoded.
 */
export const DestinationKey = z
  .string()
  .max(1000)
  .regex(
    /^(https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?|kafka:\/\/[A-Za-z0-9.:,[\]-]+\/[A-Za-z0-9._-]+)$/,
    'key must be an HTTP origin (http://host:port) or kafka://brokers/topic, URL-encoded in the path',
  );

const by = z.string().min(1).max(200).optional();

/** POST /destinations/{key}/pause body (optional). */
export const PauseDestinationRequest = z.strictObject({
  /** Why the destination is paused (shown in GET /destinations). */
  reason: z.string().min(1).max(500).optional(),
  /** Who pauses it. */
  by,
});
export type PauseDestinationRequest = z.output<typeof PauseDestinationRequest>;

/** POST /destinations/{key}/resume body (optional). */
export const ResumeDestinationRequest = z.strictObject({
  by,
  /** Waiting tasks released per second; DESTINATION_RESUME_PER_SECOND when absent. */
  per_second: z.number().int().min(1).max(10_000).optional(),
});
export type ResumeDestinationRequest = z.output<typeof ResumeDestinationRequest>;

const breakerReport = z.strictObject({
  worker: z.string(),
  breaker: z.string(),
  /** Failed share of the worker's attempts to the destination over the last one to two minutes, 0…1. */
  failure_rate: z.number(),
  attempts: z.number(),
  at: z.string(),
});

/** One destination: its pause state, the tasks waiting for its resume and the breaker state workers reported. */
export const DestinationResponse = z.strictObject({
  key: z.string(),
  state: z.enum([DestinationState.Active, DestinationState.Paused]),
  paused_at: z.string().optional(),
  paused_by: z.string().optional(),
  /** The operator's reason, or `auto` for an automatic pause. */
  reason: z.string().optional(),
  resumed_at: z.string().optional(),
  resumed_by: z.string().optional(),
  /** Tasks in state `paused` waiting for the resume. */
  tasks_waiting: z.number(),
  resume_per_second: z.number().optional(),
  /** The worst breaker state any worker reported last: open, half_open or closed (closed when none reported). */
  breaker_state: z.string(),
  /** The highest failure rate a worker reported with its last breaker change, 0…1. */
  failure_rate: z.number(),
  breakers: z.array(breakerReport),
});
export type DestinationResponse = z.output<typeof DestinationResponse>;

/** Answer of pause and resume: the destination, and whether this request changed its state. */
export const DestinationChangeResponse = DestinationResponse.extend({ changed: z.boolean() });
export type DestinationChangeResponse = z.output<typeof DestinationChangeResponse>;

export const DestinationList = z.strictObject({ items: z.array(DestinationResponse) });
export type DestinationList = z.output<typeof DestinationList>;
