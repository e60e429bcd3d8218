import { ackTimeoutOf, describeAckTarget, type ReceiverAnswer } from '../../domain/ack';
import type { Task } from '../../domain/task';
import type { TransitionResult } from '../../domain/messages';
import { readAckToken } from '../../destinations/ack-token';
import { AckTokenRejectedError, ApiError, ValidationError } from '../errors';
import type { ApiDeps } from './deps';
import { transitionTask } from './transition-task';

/** What the receiver says about a delivery. */
export type ReceiverVerdict = { outcome: 'ack' } | { outcome: 'nack'; reason: string; retryable: boolean };

/**
 * The receiver's ack or nack of one delivery: checks the X-Ack-Token against ACK_SECRET (403 when it was not issued
 * for this task), then hands the answer to the task's workflow, whose validator refuses an answer for a delivery that
 * no longer waits for one (409: timed out, an older attempt, answered already, the task closed). The token is never
 * logged and never enters the workflow history: only the delivery it names does.
 */
export async function answerDelivery(
  deps: ApiDeps,
  taskId: string,
  token: string,
  verdict: ReceiverVerdict,
): Promise<TransitionResult> {
  const count = (result: string) => deps.metrics.receiverAnswers.inc({ endpoint: verdict.outcome, result });
  const secret = deps.config.ACK_SECRET;
  if (secret === undefined) {
    count('forbidden');
    throw new AckTokenRejectedError('ACK_SECRET is not set on this API, so no acknowledgement token can be verified');
  }
  const target = readAckToken(secret, taskId, token);
  if (!target) {
    count('forbidden');
    deps.logger.warn({ task_id: taskId, endpoint: verdict.outcome }, 'receiver answer with a token not issued for it');
    throw new AckTokenRejectedError(`token was not issued for a delivery of task ${taskId}`);
  }
  const answer: ReceiverAnswer = { ...target, ...verdict };
  try {
    const result = await transitionTask(deps, taskId, { kind: 'receiver_ack', answer });
    count('accepted');
    deps.logger.info(
      { task_id: taskId, delivery: describeAckTarget(target), outcome: verdict.outcome, state: result.state },
      'receiver answer taken',
    );
    return result;
  } catch (err) {
    if (err instanceof ApiError) count(err.status === 404 ? 'not_found' : 'conflict');
    throw err;
  }
}

/**
 * Refuses a task whose destination asks for acknowledgement when this service has no ACK_SECRET: its deliveries could
 * carry no token (400 naming the field). `prefix` names the item inside a batch.
 */
export function checkAckConfigured(deps: ApiDeps, task: Task, prefix = ''): void {
  if (deps.config.ACK_SECRET !== undefined) return;
  for (const field of ['destination', 'dead_destination'] as const) {
    if (ackTimeoutOf(task[field]) === undefined) continue;
    throw new ValidationError(
      'ack_timeout needs ACK_SECRET to be set on the service (the key of the X-Ack-Token deliveries carry)',
      `${prefix ? `${prefix}.` : ''}${field}.ack_timeout`,
    );
  }
}
