import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import {
  createLifecycleEmitter,
  createNotificationSender,
  type LifecycleEmitter,
} from '../activities/lifecycle-events';
import { createSubmitter } from '../client/submit';
import { TaskAlreadyExistsError } from '../client/tasks';
import { LifecycleEventType } from '../domain/notifications';
import { CircuitStatus } from '../destinations/guard';
import { httpDestinationKey } from '../destinations/http/key';
import { kafkaDestinationKey } from '../destinations/kafka/key';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/metrics';

export interface LifecycleWiringOptions {
  client: Client;
  config: Config;
  logger: Logger;
  metrics?: Pick<Metrics, 'tasksSubmitted'>;
}

/**
 * Lifecycle notifications in a worker process: the emitter, the breaker hook (a circuit that opens from closed →
 * destination.failing; one that closes again → destination.recovered; re-opens after a failed probe say nothing new)
 * and the notifier's activity. With no channel configured everything is inert.
 */
export function createLifecycleWiring(opts: LifecycleWiringOptions) {
  const { client, config, logger } = opts;
  const emitter: LifecycleEmitter = createLifecycleEmitter(client, config);
  // The notification channels' own circuits report nothing: their events could only go to where they fail.
  const ownKeys = new Set<string>();
  if (config.NOTIFY_WEBHOOK_URL) ownKeys.add(httpDestinationKey(config.NOTIFY_WEBHOOK_URL));
  if (config.NOTIFY_KAFKA_TOPIC) {
    const cluster = config.NOTIFY_KAFKA_CLUSTER;
    const brokers = (cluster !== undefined ? config.KAFKA_CLUSTERS[cluster] : config.KAFKA_BROKERS) ?? [];
    ownKeys.add(kafkaDestinationKey(brokers, config.NOTIFY_KAFKA_TOPIC));
  }
  const opened = new Set<string>();
  const log = logger.child({ component: 'lifecycle-events' });

  function onCircuitChange(destination: string, status: CircuitStatus): void {
    if (!emitter.enabled || ownKeys.has(destination)) return;
    let type: LifecycleEventType;
    if (status === CircuitStatus.Open && !opened.has(destination)) {
      opened.add(destination);
      type = LifecycleEventType.DestinationFailing;
    } else if (status === CircuitStatus.Closed && opened.delete(destination)) {
      type = LifecycleEventType.DestinationRecovered;
    } else {
      return;
    }
    emitter
      .emit({ type, subject: destination, destination, occurred_at: new Date().toISOString() })
      .catch((err: unknown) => log.warn({ err, type, destination }, 'lifecycle event not reported'));
  }

  /** The notifier's activity (the reporting ones come with the delivery activities, given {@link emitter}). */
  function activities() {
    const submitter = createSubmitter({
      client,
      taskQueue: config.TASK_QUEUE,
      releaseLeadMs: config.RELEASE_LEAD_SECONDS * 1000,
      logger,
      metrics: opts.metrics,
      ssrfAllow: config.SSRF_ALLOW,
    });
    return createNotificationSender({
      config,
      logger: log,
      submit: async (task) => {
        try {
          await submitter.submit(task, 'notify', { reusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE });
        } catch (err) {
          // Handed over before (the activity was retried): the task exists already.
          if (!(err instanceof TaskAlreadyExistsError)) throw err;
        }
      },
    });
  }

  return { emitter, onCircuitChange, activities };
}
