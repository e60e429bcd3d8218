import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import {
  deliverOnceBy,
  singleAttemptActivityOf,
  type DeliveryReceipt,
  type DeliveryRequest,
  type SingleAttemptActivities,
} from '../domain/delivery';
import type { DestinationOfKind } from '../domain/destination';
import { failureOutcome, internalFailure, toApplicationFailure } from '../domain/failures';
import { AttemptOutcome } from '../domain/status';
import { describeDestination, type DestinationType } from '../domain/task';
import { DeliveryError, DestinationPausedError } from '../destinations/delivery-error';
import { ackBaseUrl } from '../platform/config';
import { destinationAdapters, type AdapterDeps } from '../destinations/registry';
import type { DeliveryDeps } from './deps';
import { whileInFlight } from './in-flight';
import { ReleaseGate } from './release-gate';
import { createLifecycleReporters, destinationKeyOf } from './lifecycle-events';
import { createReadSeriesProgress, createSeriesActivity, type HandOff } from './series';

export { ReleaseGate } from './release-gate';

export { createDeliveryDeps, USER_AGENT } from './deps';
export type { DeliveryDeps, DeliveryDepsInput, DeliveryDepsOverrides } from './deps';

/** What the activities need: {@link createDeliveryDeps}' result. */
export type ActivityDeps = DeliveryDeps;

/**
 * The delivery activities. `deliverHttp` / `deliverKafka` make exactly one attempt and classify its outcome (see
 * domain/delivery.ts); `deliverSeries` runs a task's attempts as one activity whose Temporal retries are the task's
 * retries (domain/series.ts). A single attempt's success returns a receipt, its failure throws an ApplicationFailure typed DeliveryFailed / DestinationRejected /
 * CircuitOpen with a DeliveryFailureDetails as its first detail. They heartbeat every 2 s while in flight and abort
 * on cancellation. Build with a factory so tests can replace one activity and keep the rest.
 */
export function createActivities(deps: ActivityDeps, gate: ReleaseGate = new ReleaseGate(), handOff?: HandOff) {
  const adapterDeps: AdapterDeps = {
    http: deps.http,
    signer: deps.signer,
    guards: deps.guards,
    userAgent: deps.userAgent,
    bodySnippetChars: deps.config.HTTP_BODY_SNIPPET_CHARS,
    ack: { secret: deps.config.ACK_SECRET, baseUrl: ackBaseUrl(deps.config) },
    kafka: deps.kafka,
    requestTimeoutMs: deps.config.KAFKA_REQUEST_TIMEOUT_MS,
  };
  // One attempt with the kind's adapter; a failure is thrown as the classified DeliveryError (the series reads it).
  const attemptOf =
    <K extends DestinationType>(kind: K) =>
    (req: DeliveryRequest<DestinationOfKind[K]>): Promise<DeliveryReceipt> =>
      instrumented(deps, kind, req, (signal) => destinationAdapters[kind].deliverOnce(adapterDeps, req, signal));
  const attempts: SingleAttemptActivities = {
    [singleAttemptActivityOf.http]: attemptOf('http'),
    [singleAttemptActivityOf.kafka]: attemptOf('kafka'),
  };
  return {
    /** POSTs (or PUT/PATCHes) the message to an HTTP destination; one attempt (dead letters). */
    deliverHttp: atActivityBoundary(attempts.deliverHttp),
    /** Produces the message to a Kafka destination; one attempt (dead letters). */
    deliverKafka: atActivityBoundary(attempts.deliverKafka),
    /** The primary deliveries of a task as one attempt series (activities/series.ts, domain/series.ts). */
    // `handOff`: an ordered task's series hands its turn on when it succeeds (behaviour SeriesHandOff).
    deliverSeries: createSeriesActivity(deliverOnceBy(attempts), gate, handOff),
    /** Local activity: the live progress of a pending attempt series; releases or holds an armed one here. */
    readSeriesProgress: createReadSeriesProgress(gate),
    /** Local activities: report a parked task or a finished job to the lifecycle notifier (when one is configured). */
    ...createLifecycleReporters(
      deps.lifecycle,
      destinationKeyOf((d) => deps.kafka.brokersOf(d)),
    ),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** The activity boundary of a single attempt: its classified failure leaves as an ApplicationFailure (domain/failures.ts). */
export function atActivityBoundary<R>(
  attempt: (req: R) => Promise<DeliveryReceipt>,
): (req: R) => Promise<DeliveryReceipt> {
  return async (req) => {
    try {
      return await attempt(req);
    } catch (err) {
      throw err instanceof DeliveryError ? toApplicationFailure(err) : err;
    }
  };
}

/** Runs one attempt with heartbeats, records metrics and a log line; a failure leaves as a classified DeliveryError. */
async function instrumented(
  deps: ActivityDeps,
  destinationType: DestinationType,
  req: DeliveryRequest,
  attempt: (signal: AbortSignal) => Promise<DeliveryReceipt>,
): Promise<DeliveryReceipt> {
  const started = performance.now();
  const execution = Context.current().info.workflowExecution;
  const log = deps.logger.child({
    task_id: req.task_id,
    attempt: req.attempt,
    workflow_id: execution?.workflowId,
    run_id: execution?.runId,
    target: req.kind,
    destination: describeDestination(req.destination),
  });
  const record = (outcome: AttemptOutcome) => {
    deps.metrics?.deliveryAttempts.inc({ destination_type: destinationType, target: req.kind, outcome });
    deps.metrics?.deliveryDuration.observe(
      { destination_type: destinationType, outcome },
      (performance.now() - started) / 1000,
    );
  };
  try {
    const receipt = await whileInFlight(attempt);
    record(AttemptOutcome.Success);
    log.info({ status_code: receipt.status_code, duration_ms: receipt.duration_ms }, 'delivered');
    return receipt;
  } catch (err) {
    if (err instanceof CancelledFailure) {
      record(AttemptOutcome.Cancelled);
      log.info('delivery cancelled');
      throw err;
    }
    // Nothing was sent: the attempt series ends the task's attempts until the destination resumes.
    if (err instanceof DestinationPausedError) throw err;
    const failure =
      err instanceof DeliveryError
        ? err
        : classifiedError(internalFailure(err, Math.round(performance.now() - started)));
    record(failureOutcome(failure.type));
    log[failure.details.error_class === 'internal_error' ? 'error' : 'info'](
      {
        failure: failure.type,
        ...failure.details,
        body_snippet: undefined,
        err: err instanceof DeliveryError ? undefined : err,
      },
      failure.message,
    );
    throw failure;
  }
}

function classifiedError(f: ReturnType<typeof internalFailure>): DeliveryError {
  return new DeliveryError(f.type as DeliveryError['type'], f.message, f.details);
}
