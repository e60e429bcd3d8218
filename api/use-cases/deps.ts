import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { Metrics } from '../../platform/metrics';
import { fieldErrors } from '../../domain/task';
import { ValidationError } from '../errors';

/** What the use cases need: the Temporal client and the process-wide services. */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  client: Client;
  metrics: Metrics;
  /** Temporal namespace of the client. */
  namespace: string;
  /** Optional Kafka check for GET /health; resolves when the cluster answers, rejects with the reason otherwise. */
  kafkaHealth?: () => Promise<void>;
  /**
   * Deadline of the Temporal calls one request makes, milliseconds; past it the request answers 503.
   * @default 10000
   */
  temporalTimeoutMs?: number;
}

/** Runs Temporal calls under the request's deadline, so an unreachable server answers 503 instead of hanging. */
export function withDeadline<T>(deps: ApiDeps, fn: () => Promise<T>, timeoutMs = deps.temporalTimeoutMs ?? 10_000) {
  return deps.client.withDeadline(Date.now() + timeoutMs, fn);
}

/** Parses with a zod schema or throws a {@link ValidationError} naming the first bad field (seed 002 style). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error).map((e) => ({
    field: prefix && e.field === '(body)' ? prefix : prefix ? `${prefix}.${e.field}` : e.field,
    error: e.error,
  }));
  const first = errors[0] ?? { field: prefix || '(body)', error: 'invalid request' };
  throw new ValidationError(first.error, first.field, errors);
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return results;
}
