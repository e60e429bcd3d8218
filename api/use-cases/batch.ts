import type { Task } from '../../domain/task';
import { isTemporalUnavailable } from '../errors';
import { BatchRejectedError, ConflictError, ValidationError } from '../errors';
import { BatchEnvelope, type BatchItemResult } from '../schemas';
import type { z } from 'zod';
import { mapLimit, parseOrThrow, type ApiDeps } from './deps';
import { planStarts, submitTask, validateTask } from './submit-task';

type ItemResult = z.output<typeof BatchItemResult>;

/**
 * POST /tasks/batch: every item is validated before any is started; one invalid item (or an id used twice in the
 * batch) rejects the whole batch with per-item errors. A valid batch is started with at most BATCH_CONCURRENCY
 * starts in flight (items of one ordering key enqueued in item order); each item reports its own outcome
 * (201 started, 409 id already open, 503, 500).
 */
export async function submitBatch(deps: ApiDeps, body: unknown) {
  const { tasks: raw } = parseOrThrow(BatchEnvelope, body ?? {});
  // Validation is CPU work plus the SSRF check's DNS lookups for HTTP items; run a few at a time.
  const validated = await mapLimit(raw, deps.config.BATCH_CONCURRENCY, async (item) => {
    try {
      return { task: await validateTask(deps, item) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return { errors: err.errors };
    }
  });
  const tasks: Task[] = [];
  const invalid: ConstructorParameters<typeof BatchRejectedError>[0] = [];
  const seen = new Map<string, number>();
  validated.forEach((v, index) => {
    const item = raw[index] as { id?: unknown } | null;
    const id = typeof item?.id === 'string' ? item.id : undefined;
    let errors = v.errors;
    if (v.task) {
      const first = seen.get(v.task.id);
      if (first === undefined) {
        seen.set(v.task.id, index);
        tasks.push(v.task);
      } else {
        errors = [{ field: 'id', error: `id ${v.task.id} is used twice in this batch (also tasks[${first}])` }];
      }
    }
    if (errors) invalid.push({ index, ...(id !== undefined ? { id } : {}), errors });
  });
  if (invalid.length > 0) throw new BatchRejectedError(invalid, raw.length);

  // Items sharing an ordering_key take their places in their key's order now, in item order (their key's acceptance
  // order). They start next to each other, so their enqueues meet and go to the key several per signal.
  const { order, places } = planStarts(deps, tasks);
  const started = await mapLimit(order, deps.config.BATCH_CONCURRENCY, async (index): Promise<ItemResult> => {
    const task = tasks[index]!;
    const place = places[index];
    try {
      const { runId } = await submitTask(deps, task, 'batch', place);
      return { index, id: task.id, status: 201, run_id: runId };
    } catch (err) {
      if (err instanceof ConflictError) return { index, id: task.id, status: 409, error: err.message };
      if (isTemporalUnavailable(err)) return { index, id: task.id, status: 503, error: 'Temporal is unreachable' };
      deps.logger.error({ err, task_id: task.id }, 'batch item failed to start');
      return { index, id: task.id, status: 500, error: 'internal error' };
    } finally {
      place?.giveUp();
    }
  });
  const results = started.sort((a, b) => a.index - b.index);
  const ok = results.filter((r) => r.status === 201).length;
  return { total: results.length, started: ok, failed: results.length - ok, results };
}
