import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Application metrics (Prometheus, prom-client). One registry per process; the API serves it on GET /metrics, the
 * worker on WORKER_METRICS_PORT. Label values are bounded: destination type, outcome, a destination *origin*
 * (scheme://host:port or kafka topic), never task ids.
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'retry_service_process_' });
  const metrics = {
    registry,
    tasksSubmitted: new Counter({
      name: 'retry_service_tasks_submitted_total',
      help: 'Tasks accepted for retry, by destination type, priority and entry point (api, batch, ingress).',
      labelNames: ['destination_type', 'priority', 'via'] as const,
      registers: [registry],
    }),
    deliveryAttempts: new Counter({
      name: 'retry_service_delivery_attempts_total',
      help: 'Delivery attempts by destination type, target (primary or dead_letter) and outcome.',
      labelNames: ['destination_type', 'target', 'outcome'] as const,
      registers: [registry],
    }),
    deliveryDuration: new Histogram({
      name: 'retry_service_delivery_duration_seconds',
      help: 'Duration of delivery attempts, by destination type and outcome.',
      labelNames: ['destination_type', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'retry_service_circuit_open',
      help: '1 while the circuit breaker of a destination is open (or half-open), 0 when closed.',
      labelNames: ['destination'] as const,
      registers: [registry],
    }),
    destinationSlotWait: new Histogram({
      name: 'retry_service_destination_slot_wait_seconds',
      help: 'Deliveries that waited for a free slot of their destination (DESTINATION_MAX_CONCURRENCY), and how long.',
      labelNames: ['destination'] as const,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    taskTransitions: new Counter({
      name: 'retry_service_task_transitions_total',
      help: 'Task state changes seen by the API and workers (dead_lettered, cancelled, requeued …).',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    receiverAnswers: new Counter({
      name: 'retry_service_receiver_answers_total',
      help: 'Receiver acks and nacks the API took, by endpoint (ack, nack) and result (accepted, forbidden, conflict, not_found).',
      labelNames: ['endpoint', 'result'] as const,
      registers: [registry],
    }),
    ingressMessages: new Counter({
      name: 'retry_service_ingress_messages_total',
      help: 'Kafka ingress messages by result: consumed, started, duplicate, malformed.',
      labelNames: ['topic', 'result'] as const,
      registers: [registry],
    }),
    ingressLag: new Gauge({
      name: 'retry_service_ingress_lag',
      help: 'Kafka ingress consumer lag per topic partition (high watermark − committed offset).',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    releaseLateness: new Histogram({
      name: 'retry_service_release_lateness_seconds',
      help: 'Armed deliveries (lead-time release): how late the worker released them after their due instant.',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    armedDeliveries: new Gauge({
      name: 'retry_service_armed_deliveries',
      help: 'Deliveries armed in this worker, waiting for their due instant (lead-time release).',
      registers: [registry],
      collect() {
        this.set(armedNow());
      },
    }),
  };
  let armedNow = () => 0;
  return {
    ...metrics,
    /** Where the armed-deliveries gauge reads its value (the worker's release gate). */
    readArmedFrom(read: () => number) {
      armedNow = read;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
