import { describe, expect, it } from 'vitest';
import { applyRequeueOverrides, requeueOverridesProblem } from '../../domain/requeue';
import { TaskInput, type Task } from '../../domain/task';

const task: Task = TaskInput.parse({
  id: 't-1',
  source: 's',
  client_id: 'c',
  destination_type: 'http',
  destination: { url: 'https://receiver.example/hook' },
  max_retries: 3,
  base_delay: 10,
  max_delay: 60,
  deliver_at: '2030-01-01T00:00:00Z',
  message_data: 'm',
});

describe('requeue overrides in the workflow (no zod)', () => {
  it('accepts no overrides and valid ones', () => {
    expect(requeueOverridesProblem(undefined, task)).toBeUndefined();
    expect(
      requeueOverridesProblem({ max_retries: 5, destination: { url: 'https://x.example' } }, task),
    ).toBeUndefined();
  });

  it('rejects an unknown field, a bad number, a destination of the other kind and a crossed policy, naming the field', () => {
    expect(requeueOverridesProblem({ colour: 'red' }, task)).toContain('overrides.colour');
    expect(requeueOverridesProblem({ max_retries: -1 }, task)).toContain('overrides.max_retries');
    expect(requeueOverridesProblem({ max_retries: 1.5 }, task)).toContain('integer');
    expect(requeueOverridesProblem({ http_timeout: 0 }, task)).toContain('overrides.http_timeout');
    expect(requeueOverridesProblem({ destination: { host: 'h', port: 1, topic: 't' } }, task)).toContain('http');
    expect(requeueOverridesProblem({ base_delay: 100 }, task)).toContain('max_delay');
    expect(requeueOverridesProblem({ delay_tier: '5s', deliver_at: '2030-01-01T00:00:00Z' }, task)).toContain(
      'deliver_at',
    );
    expect(requeueOverridesProblem([], task)).toContain('object');
  });

  it('tries at once without a new first delay; a new delay_tier replaces the old deliver_at', () => {
    const now = applyRequeueOverrides(task, { max_retries: 7, key: undefined });
    expect(now.timed).toBe(false);
    expect(now.task).toMatchObject({ max_retries: 7, deliver_at: undefined, delay_tier: undefined, base_delay: 10 });
    const later = applyRequeueOverrides(task, { delay_tier: '5m' });
    expect(later.timed).toBe(true);
    expect(later.task).toMatchObject({ delay_tier: '5m', deliver_at: undefined });
    expect(applyRequeueOverrides(task, { dead_destination: null }).task.dead_destination).toBeNull();
  });
});
