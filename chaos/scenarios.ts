import { waitBeforeAttemptMs } from '../domain/backoff';
import { figuresOf } from './figures';
import { interruptedAttempts } from './histories';
import { until, type Lab } from './lab';
import type { ChaosReceiver } from './receiver';
import { httpTask, Services } from './services';
import { kafkaScenarios } from './scenarios-kafka';
import { lifecycleScenarios } from './scenarios-lifecycle';
import { idsFor, settle, SETTLE_MS, type Scenario, type ScenarioContext } from './common';

/** Stops the services with SIGTERM and counts what is left of this lab's processes. */
async function finish(services: Services, lab: Lab): Promise<number> {
  await services.stop();
  return lab.leftovers().length;
}

/** Our worker and API on a fresh task queue, with `tasks` HTTP tasks to `path` on the receiver submitted. */
async function startWithTasks(ctx: ScenarioContext, name: string, path: string, over: Record<string, unknown>) {
  const { lab, receiver, tasks } = ctx;
  const services = new Services(lab);
  await services.start();
  const ids = idsFor(name, tasks);
  const submitted = await services.submit(ids.map((id) => httpTask(id, `${receiver.url}${path}`, over)));
  return { services, ids, submitted };
}

/** kill -9 of the worker once deliveries are in flight at the (slow) receiver, restart 1 s later; returns how many. */
async function killWorkerInFlight(services: Services, receiver: ChaosReceiver, tasks: number): Promise<number> {
  await until(() => receiver.open >= Math.min(5, tasks), SETTLE_MS);
  const inFlight = receiver.open;
  await services.kill9(services.worker);
  await new Promise((r) => setTimeout(r, 1_000));
  services.startWorker();
  return inFlight;
}

const policy = { base_delay: 2, jitter: 'none' as const };
/**
 * worker-mid-wait's: a wait long enough that every task is still waiting for attempt 2 when the last first attempt
 * was refused (200 submissions and first attempts take tens of seconds on a loaded machine).
 */
const waitPolicy = { base_delay: 30, jitter: 'none' as const };

/** The duplicate bound of a worker kill: attempts the kill interrupted (chaos/histories.ts). */
async function interrupted(ctx: ScenarioContext, ids: string[]): Promise<number> {
  const keys = new Set(ids);
  const refused = ctx.receiver.arrivals.filter((a) => !a.ok && keys.has(a.key)).length;
  return interruptedAttempts(ctx.lab, ids, refused);
}

export const scenarios: Record<string, { describe: string; run: Scenario }> = {
  'worker-mid-wait': {
    describe: 'kill -9 of the worker while every task waits for its retry (the server holds the wait)',
    async run(ctx) {
      const { lab, receiver } = ctx;
      const { services, ids, submitted } = await startWithTasks(ctx, 'wait', '/flaky-wait', waitPolicy);
      // Every first attempt failed (503): all tasks now wait for attempt 2.
      await until(() => ids.every((id) => receiver.arrivals.some((a) => a.key === id)), SETTLE_MS);
      // With many tasks, the first ones' attempt 2 may fall due before the last ones' attempt 1 was refused.
      const deliveredBefore = receiver.deliveries('/flaky-wait').size;
      await services.kill9(services.worker);
      await new Promise((r) => setTimeout(r, 1_000));
      services.startWorker();
      await settle(receiver, '/flaky-wait', ids, services.apiUrl);
      // Attempt 2 is due one backoff after attempt 1 failed, which was at or after the first due time.
      const wait2 = waitBeforeAttemptMs({ ...waitPolicy, max_delay: undefined }, 2, 0, 0);
      const due = new Map([...submitted].map(([id, at]) => [id, at + waitPolicy.base_delay * 1000 + wait2]));
      const bound = await interrupted(ctx, ids);
      return figuresOf({
        scenario: 'worker-mid-wait',
        due,
        arrivals: receiver.deliveries('/flaky-wait'),
        kills: 1,
        duplicateBound: bound,
        leftovers: await finish(services, lab),
        notes:
          `${ids.length - deliveredBefore} waiting, ${deliveredBefore} already delivered at the kill; ${bound} attempts interrupted; ` +
          'lateness includes the worker restart (workflow bundling)',
      });
    },
  },
  'worker-mid-delivery': {
    describe: 'kill -9 of the worker while deliveries are in flight (the receiver holds each request 3 s)',
    async run(ctx) {
      const { lab, receiver } = ctx;
      const { services, ids, submitted } = await startWithTasks(ctx, 'delivery', '/slow-delivery', policy);
      const inFlight = await killWorkerInFlight(services, receiver, ids.length);
      await settle(receiver, '/slow-delivery', ids, services.apiUrl);
      const due = new Map([...submitted].map(([id, at]) => [id, at + policy.base_delay * 1000]));
      const bound = await interrupted(ctx, ids);
      return figuresOf({
        scenario: 'worker-mid-delivery',
        due,
        arrivals: receiver.deliveries('/slow-delivery'),
        kills: 1,
        duplicateBound: bound,
        leftovers: await finish(services, lab),
        notes:
          `${bound} attempts interrupted (${inFlight} held open by the receiver at the kill): outcome unknown, ` +
          're-sent as the next attempt',
      });
    },
  },
  'worker-mid-dead-letter': {
    describe: 'kill -9 of the worker while dead-letter deliveries are in flight',
    async run(ctx) {
      const { lab, receiver } = ctx;
      const dlq = '/slow-dead-letter';
      const over = { ...policy, max_retries: 1, dead_destination: { url: `${receiver.url}${dlq}` } };
      // The primary is refused at the TCP level (nothing listens on 127.0.0.2): a failure on an origin of its own.
      const primary = receiver.url.replace('127.0.0.1', '127.0.0.2');
      const { services, ids, submitted } = await startWithTasks(ctx, 'dead', '', {
        ...over,
        destination: { url: primary },
      });
      const inFlight = await killWorkerInFlight(services, receiver, ids.length);
      await settle(receiver, dlq, ids, services.apiUrl);
      const due = new Map([...submitted].map(([id, at]) => [id, at + policy.base_delay * 1000]));
      const bound = await interrupted(ctx, ids);
      return figuresOf({
        scenario: 'worker-mid-dead-letter',
        due,
        arrivals: receiver.deliveries(dlq),
        kills: 1,
        duplicateBound: bound,
        leftovers: await finish(services, lab),
        notes: `${bound} attempts interrupted (${inFlight} dead-letter deliveries held open by the receiver at the kill)`,
      });
    },
  },
  'temporal-restart': {
    describe: 'kill -9 of the Temporal dev server with tasks pending, restart on the same data',
    async run(ctx) {
      const { lab, receiver, tasks } = ctx;
      const services = new Services(lab);
      await services.start();
      const ids = idsFor('temporal', tasks);
      const over = { base_delay: 10 };
      const submitted = await services.submit(ids.map((id) => httpTask(id, `${receiver.url}/temporal`, over)));
      await lab.kill9(lab.temporal);
      const down = Date.now();
      await lab.startTemporal();
      const downMs = Date.now() - down;
      await settle(receiver, '/temporal', ids, services.apiUrl);
      const due = new Map([...submitted].map(([id, at]) => [id, at + over.base_delay * 1000]));
      const alive = services.worker?.proc.exitCode === null && services.api?.proc.exitCode === null;
      return figuresOf({
        scenario: 'temporal-restart',
        due,
        arrivals: receiver.deliveries('/temporal'),
        kills: 1,
        duplicateBound: 0,
        leftovers: await finish(services, lab),
        notes: `Temporal down ${(downMs / 1000).toFixed(1)} s; worker and API ${alive ? 'reconnected' : 'EXITED'}`,
      });
    },
  },
  ...kafkaScenarios,
  ...lifecycleScenarios,
};
