import { describe, expect, it } from 'vitest';
import { notificationTasks } from '../../activities/notification-tasks';
import { Coalescer, TASK_ID_SAMPLE, type RawLifecycleEvent } from '../../domain/notifications';
import type { ConfigError } from '../../platform/config';
import { NOTIFY_SECRET_REF, loadConfig } from '../../platform/config';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const dead = (task: string, s: number, subject = 'https://a.example'): RawLifecycleEvent => ({
  type: 'task.dead_lettered',
  subject,
  occurred_at: at(s),
  task_id: task,
});
const circuit = (type: 'destination.failing' | 'destination.recovered', subject = 'https://a.example') => ({
  type,
  subject,
  occurred_at: at(0),
});

describe('coalescing of lifecycle events (pure)', () => {
  it('turns the events of one type and subject within a window into one with a count and a capped id sample', () => {
    const c = new Coalescer();
    for (let i = 0; i < 30; i++) c.add(dead(`t${i}`, i % 10), 1_000 + i);
    c.add(dead('other', 0, 'https://b.example'), 1_500);
    expect(c.nextDueInMs(2_000, 5_000)).toBe(4_000);
    expect(c.takeDue(5_999, 5_000)).toEqual([]);
    const [a, ...rest] = c.takeDue(6_000, 5_000);
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      subject: 'https://a.example',
      count: 30,
      first_occurred_at: at(0),
      last_occurred_at: at(9),
    });
    expect(a!.task_ids).toHaveLength(TASK_ID_SAMPLE);
    expect(c.takeDue(6_500, 5_000).map((b) => b.subject)).toEqual(['https://b.example']);
    expect(c.size).toBe(0);
  });

  it('sends destination.failing once per outage, however many breakers open, and recovered only after it', () => {
    const c = new Coalescer();
    c.add(circuit('destination.recovered'), 0);
    expect(c.size).toBe(0);
    c.add(circuit('destination.failing'), 0);
    c.add(circuit('destination.failing'), 10);
    const [failing] = c.takeDue(1_000, 1_000);
    expect(failing).toMatchObject({ type: 'destination.failing', count: 1 });
    // A second worker's breaker opens later in the same outage: still the same outage.
    c.add(circuit('destination.failing'), 2_000);
    expect(c.size).toBe(0);
    c.add(circuit('destination.recovered'), 3_000);
    c.add(circuit('destination.recovered'), 3_001);
    expect(c.takeDue(4_000, 1_000)).toEqual([expect.objectContaining({ type: 'destination.recovered', count: 1 })]);
  });

  it('carries pending events and failing destinations across continue-as-new', () => {
    const c = new Coalescer();
    c.add(dead('t1', 0), 0);
    c.add(circuit('destination.failing'), 0);
    c.takeDue(0, 0);
    c.add(dead('t2', 1), 100);
    const next = new Coalescer(c.snapshot());
    next.add(circuit('destination.failing'), 200);
    expect(next.takeDue(10_000, 1_000)).toEqual([expect.objectContaining({ task_ids: ['t2'], count: 1 })]);
  });
});

describe('notification settings and tasks', () => {
  const event = {
    id: 'evt_1',
    type: 'job.completed' as const,
    subject: 'job-1',
    job_id: 'job-1',
    count: 1,
    first_occurred_at: at(0),
    last_occurred_at: at(0),
    task_ids: [],
  };

  it('makes one signed webhook task and one Kafka task per event, linking the API resource', () => {
    const config = loadConfig({
      NOTIFY_WEBHOOK_URL: 'https://ops.example/hooks',
      NOTIFY_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      NOTIFY_KAFKA_TOPIC: 'ops.events',
      KAFKA_BROKERS: 'k1:9092',
      ACK_PUBLIC_BASE_URL: 'https://retry.example/',
    });
    const [hook, kafka] = notificationTasks(event, config);
    expect(hook).toMatchObject({
      id: 'notify-evt_1-webhook',
      source: 'retry-service.notifications',
      destination: { kind: 'http', url: 'https://ops.example/hooks', signing_secret_ref: NOTIFY_SECRET_REF },
    });
    expect(kafka).toMatchObject({
      id: 'notify-evt_1-kafka',
      destination: { topic: 'ops.events', brokers: ['k1:9092'] },
    });
    expect(JSON.parse(hook!.message_data)).toMatchObject({
      id: 'evt_1',
      type: 'job.completed',
      data: { job_id: 'job-1', count: 1, links: { self: 'https://retry.example/jobs/job-1' } },
    });
  });

  it('refuses settings that cannot work, naming the variable', () => {
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems.map((p) => p.variable);
      }
      return [];
    };
    expect(problem({ NOTIFY_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })).toEqual([
      'NOTIFY_WEBHOOK_SECRET',
    ]);
    expect(problem({ NOTIFY_WEBHOOK_URL: 'https://x.example', NOTIFY_WEBHOOK_SECRET: 'not a secret!' })).toEqual([
      'NOTIFY_WEBHOOK_SECRET',
    ]);
    expect(problem({ NOTIFY_KAFKA_TOPIC: 'ops' })).toEqual(['NOTIFY_KAFKA_TOPIC']);
    expect(problem({ NOTIFY_KAFKA_TOPIC: 'ops', NOTIFY_KAFKA_CLUSTER: 'eu' })).toEqual(['NOTIFY_KAFKA_CLUSTER']);
    expect(problem({ NOTIFY_COALESCE_SECONDS: '0' })).toEqual(['NOTIFY_COALESCE_SECONDS']);
    expect(problem({ WEBHOOK_SECRETS: JSON.stringify({ [NOTIFY_SECRET_REF]: ['whsec_x'] }) })).toEqual([
      'WEBHOOK_SECRETS',
    ]);
  });
});
