import { MockActivityEnvironment, TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { HttpReceiver } from '../support/http-receiver';
import { createActivities, createDeliveryDeps, type DeliveryDeps, type DeliveryDepsOverrides } from '../../activities';
import type {
  DeliveryReceipt,
  DeliveryRequest,
  HttpDeliveryRequest,
  KafkaDeliveryRequest,
} from '../../domain/delivery';
import type { DeliveryFailureDetails } from '../../domain/failures';
import { tagDestination, type StoredDestination } from '../../domain/destination';
import type { HttpDestination, KafkaDestination } from '../../domain/task';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';

/** Two Standard Webhooks secrets (old and new) under one name, as during a rotation. */
export const SECRETS = {
  'partner-a': ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'],
};

/** Delivery deps as the worker builds them, from env-style config (loopback allowed, as tests and npm start do). */
export function testDeps(env: Record<string, string> = {}, overrides: DeliveryDepsOverrides = {}): DeliveryDeps {
  const config = loadConfig({
    SSRF_ALLOW: '127.0.0.1',
    WEBHOOK_SECRETS: JSON.stringify(SECRETS),
    KAFKA_CONNECTION_TIMEOUT_MS: '1000',
    KAFKA_REQUEST_TIMEOUT_MS: '3000',
    ...env,
  });
  return createDeliveryDeps({ config, logger: createLogger('silent') }, overrides);
}

let counter = 0;
/** A unique task id per call (ids name receivers' logs and Kafka headers). */
export function taskId(prefix = 'task'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

/** The tagged destination type of a destination written with or without its `kind`. */
type Tagged<D> = D extends { url: string } ? HttpDestination : KafkaDestination;

/** A primary delivery request with the defaults of a plain submitted task; the destination's kind is filled in. */
export function request<D extends StoredDestination>(
  destination: D,
  over: Partial<DeliveryRequest<Tagged<D>>> = {},
): DeliveryRequest<Tagged<D>> {
  return {
    task_id: taskId(),
    attempt: 1,
    kind: 'primary',
    destination: tagDestination(destination) as Tagged<D>,
    message_data: JSON.stringify({ order: 42, note: 'héllo' }),
    source: 'billing',
    client_id: 'client-1',
    timeout_ms: 5_000,
    ...over,
  };
}

/** Runs one activity in a mock activity context (real heartbeats and cancellation signal). */
export function activityEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment({ attempt: 1 });
}

/** Runs `deliverHttp` or `deliverKafka` once in a fresh (or the given) activity context. */
export function runActivity(
  deps: DeliveryDeps,
  name: 'deliverHttp',
  req: HttpDeliveryRequest,
  env?: MockActivityEnvironment,
): Promise<DeliveryReceipt>;
export function runActivity(
  deps: DeliveryDeps,
  name: 'deliverKafka',
  req: KafkaDeliveryRequest,
  env?: MockActivityEnvironment,
): Promise<DeliveryReceipt>;
export function runActivity(
  deps: DeliveryDeps,
  name: 'deliverHttp' | 'deliverKafka',
  req: HttpDeliveryRequest | KafkaDeliveryRequest,
  env = activityEnv(),
): Promise<DeliveryReceipt> {
  const acts = createActivities(deps);
  const fn = acts[name] as (r: typeof req) => Promise<DeliveryReceipt>;
  return env.run(fn, req);
}

/** Awaits a failing activity and returns its ApplicationFailure (type, nonRetryable, details). */
export async function failureOf(p: Promise<unknown>): Promise<{
  type: string;
  message: string;
  nonRetryable: boolean;
  details: DeliveryFailureDetails;
}> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the delivery should have failed').toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  return {
    type: f.type ?? '',
    message: f.message,
    nonRetryable: f.nonRetryable === true,
    details: f.details?.[0] as DeliveryFailureDetails,
  };
}

/** What {@link useDevServerAndReceiver} provides once its `beforeAll` has run. */
export interface DevServerAndReceiver {
  env: TestWorkflowEnvironment;
  receiver: HttpReceiver;
}

/** Connects to the run's dev server and starts a real HTTP receiver for the file's tests (beforeAll / afterAll). */
export function useDevServerAndReceiver(): DevServerAndReceiver {
  const ctx = {} as DevServerAndReceiver;
  beforeAll(async () => {
    ctx.env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
    ctx.receiver = await HttpReceiver.start();
  });
  afterAll(async () => {
    await ctx.receiver?.stop();
    await ctx.env?.teardown();
  });
  return ctx;
}
