import { condition, metricMeter, patched } from '@temporalio/workflow';
import {
  AckErrorClass,
  ReceiverAckPatch,
  ackTimeoutOf,
  describeAckTarget,
  type AckTarget,
  type ReceiverAnswer,
} from '../domain/ack';
import { waitBeforeAttemptMs } from '../domain/backoff';
import { AttemptOutcome, TaskState, type DeadLetterReason } from '../domain/status';
import type { Destination } from '../domain/task';
import { invalid, type RetryTaskState } from './task-state';

/** How the wait for a receiver's answer ended. */
export type AckVerdict =
  | { kind: 'acked' }
  | { kind: 'requeue' }
  | { kind: 'failed'; permanent: boolean; error_class: string; message: string };

const keyOf = (t: AckTarget) => `${t.target}/${t.round}/${t.attempt}`;
const sameTarget = (a: AckTarget, b: AckTarget) => keyOf(a) === keyOf(b);

/**
 * The receiver-acknowledgement part of a task's state: the delivery whose ack is awaited, the answer once it arrives,
 * and how earlier deliveries' waits ended (for a precise 409). The receiverAck update handler and the ack waits below
 * share it; nothing here runs for tasks without `ack_timeout`.
 */
export class ReceiverAcks {
  private awaiting: (AckTarget & { deadline: string }) | undefined;
  private answer: ReceiverAnswer | undefined;
  /** Set while the dead-letter delivery is in flight (its ack may arrive before the activity reports the 2xx). */
  deadLetterSending = false;
  private readonly ended = new Map<string, string>();
  private readonly counter = metricMeter.createCounter(
    'retry_service_receiver_acks',
    'answers',
    'Receiver acknowledgements as the workflows saw them: ack, nack_retryable, nack_permanent, timeout.',
  );

  constructor(private readonly state: RetryTaskState) {}

  /** Update validator: rejects an answer for a delivery that does not (and will not) wait for one. */
  validate(a: ReceiverAnswer): void {
    const { status } = this.state;
    const what = describeAckTarget(a);
    if (!this.state.isOpen) throw invalid(`task is already ${status.state}; ${what} needs no answer`);
    if (a.round !== status.requeues) {
      throw invalid(`${what} belongs to an earlier round of this task; it was requeued since`);
    }
    if (this.awaiting && sameTarget(this.awaiting, a)) {
      if (this.answer) throw invalid(`${what} was answered already (${this.answer.outcome})`);
      return;
    }
    const ended = this.ended.get(keyOf(a));
    if (ended) throw invalid(`${what} ${ended}`);
    // An ack can overtake the 2xx it answers: accept it while that delivery may still be in flight.
    if (a.target === 'primary' ? this.state.seriesRunning && a.attempt > status.attempt : this.deadLetterSending) {
      return;
    }
    throw invalid(`${what} is not awaiting an acknowledgement; the task is ${status.state}`);
  }

  /**
   * Update handler: waits until the delivery awaits its answer (an early ack waits for the 2xx to be reported), hands
   * the answer over, and returns once the task has acted on it.
   */
  async receive(a: ReceiverAnswer): Promise<{ previous_state: TaskState; state: TaskState }> {
    await condition(() => this.isAwaiting(a) || !this.mayAwait(a));
    if (!this.isAwaiting(a)) {
      this.validate(a); // throws: the delivery ended without awaiting this answer, or it was answered already
      throw invalid(`${describeAckTarget(a)} is not awaiting an acknowledgement`);
    }
    const previous = this.state.status.state;
    this.answer = a;
    // Settled when the ack wait has taken the answer, or the task ended meanwhile (a cancel).
    await condition(() => this.answer !== a || !this.state.isOpen);
    return { previous_state: previous, state: this.state.status.state };
  }

  private isAwaiting(a: AckTarget): boolean {
    return this.awaiting !== undefined && this.answer === undefined && sameTarget(this.awaiting, a);
  }

  private mayAwait(a: AckTarget): boolean {
    return this.state.isOpen && (a.target === 'primary' ? this.state.seriesRunning : this.deadLetterSending);
  }

  /**
   * After a 2xx from a destination with `ack_timeout`: shows `awaiting_ack` with its deadline and waits (durable
   * timer) for the receiver's ack or nack, a requeue, or the timeout. A cancel ends the wait by cancellation. The
   * attempt-log line of the delivery is rewritten when the receiver nacks or stays silent.
   */
  async wait(target: AckTarget, timeoutSeconds: number, details: string): Promise<AckVerdict> {
    const { state } = this;
    const { status } = state;
    const deadline = new Date(Date.now() + timeoutSeconds * 1000).toISOString();
    this.awaiting = { ...target, deadline };
    status.ack_deadline = deadline;
    state.transition(TaskState.AwaitingAck, `${details}; awaiting the receiver's ack until ${deadline}`);
    try {
      await condition(() => this.answer !== undefined || state.interrupt === 'requeue', timeoutSeconds * 1000, {
        summary: `receiver ack of ${describeAckTarget(target)} until ${deadline}`,
      });
    } finally {
      this.awaiting = undefined;
      status.ack_deadline = undefined;
    }
    const answer = this.answer;
    this.answer = undefined; // releases the update handler
    const key = keyOf(target);
    if (!answer) {
      if (state.interrupt === 'requeue') {
        this.ended.set(key, 'no longer waits: the task was requeued');
        return { kind: 'requeue' };
      }
      this.counter.add(1, { outcome: 'timeout' });
      this.ended.set(key, `timed out waiting for its acknowledgement at ${deadline}`);
      return this.failed(target, {
        permanent: false,
        error_class: AckErrorClass.Timeout,
        message: `no acknowledgement within ${timeoutSeconds} s of the 2xx (deadline ${deadline})`,
      });
    }
    if (answer.outcome === 'ack') {
      this.counter.add(1, { outcome: 'ack' });
      this.ended.set(key, 'was acknowledged already');
      return { kind: 'acked' };
    }
    const retryable = answer.retryable !== false;
    this.counter.add(1, { outcome: retryable ? 'nack_retryable' : 'nack_permanent' });
    this.ended.set(key, 'was nacked already');
    return this.failed(target, {
      permanent: !retryable,
      error_class: AckErrorClass.Nack,
      message: `receiver nack${retryable ? '' : ' (not retryable)'}: ${answer.reason ?? 'no reason given'}`,
    });
  }

  /** Rewrites the delivery's attempt-log line as failed and returns the verdict. */
  private failed(target: AckTarget, f: Omit<Extract<AckVerdict, { kind: 'failed' }>, 'kind'>): AckVerdict {
    const { status } = this.state;
    const line = [...status.attempts].reverse().find((a) => a.target === target.target && a.number === target.attempt);
    if (line) {
      line.outcome = f.permanent ? AttemptOutcome.Permanent : AttemptOutcome.Retryable;
      line.error_class = f.error_class;
      line.error = f.message;
    }
    if (target.target === 'primary') status.last_error = f.message;
    return { kind: 'failed', ...f };
  }
}

/** The ack timeout of a destination when this task waits for acks (new behaviour behind its patch), else undefined. */
export function ackTimeoutFor(destination: Destination | null | undefined): number | undefined {
  const timeout = ackTimeoutOf(destination);
  return timeout !== undefined && patched(ReceiverAckPatch) ? timeout : undefined;
}

/** What follows a primary attempt's ack wait: success, the next attempt, a requeue, or giving up. */
export type AfterAck =
  { kind: 'acked' } | { kind: 'next' } | { kind: 'requeue' } | { kind: 'give_up'; reason: DeadLetterReason };

/**
 * After the attempt series delivered attempt n with a 2xx to a destination with `ack_timeout`: waits for the ack; on
 * a nack or timeout the attempt counts as failed and the task waits its backoff (a workflow timer; retry-now skips it)
 * before the deliver phase starts the next series at n+1, or gives up as the series would.
 */
export async function awaitPrimaryAck(
  state: RetryTaskState,
  acks: ReceiverAcks,
  timeoutSeconds: number,
): Promise<AfterAck> {
  const { task, status } = state;
  const attempt = status.attempt;
  const got = status.last_status_code ? `HTTP ${status.last_status_code}` : '2xx';
  const verdict = await acks.wait(
    { target: 'primary', round: status.requeues, attempt },
    timeoutSeconds,
    `${got} for attempt ${attempt}/${task.max_retries}`,
  );
  if (verdict.kind !== 'failed') return verdict;
  if (verdict.permanent) return { kind: 'give_up', reason: 'permanent' };
  if (attempt >= task.max_retries) return { kind: 'give_up', reason: 'exhausted' };
  const nextAt = Date.now() + waitBeforeAttemptMs(task, attempt + 1, Date.now(), Math.random());
  const deadline = state.deadlineMs();
  if (deadline !== undefined && nextAt > deadline) return { kind: 'give_up', reason: 'max_duration' };
  const nextIso = new Date(nextAt).toISOString();
  state.transition(
    TaskState.Waiting,
    `attempt ${attempt}/${task.max_retries} failed: ${verdict.error_class} — next at ${nextIso}`,
    nextIso,
  );
  const interrupted = await state.wait(nextAt - Date.now(), `wait before attempt ${attempt + 1}/${task.max_retries}`);
  if (interrupted === 'requeue') return { kind: 'requeue' };
  if (interrupted === 'retry_now') state.interrupt = undefined;
  return { kind: 'next' };
}
