import { describe, expect, it } from 'vitest';
import { RetryHeader } from '../../sdk/headers';
import { coordinateId, parseIngressMessage, type IngressRecord, type ParseResult } from '../../ingress/parse-message';

const ctx = { retryTopic: 'retry.requests', tierPrefix: 'retry.delay.', brokers: ['k1:9092'] };
const ts = Date.parse('2030-01-01T00:00:00Z');

function record(
  over: Omit<Partial<IngressRecord>, 'value' | 'headers'> & { value: string | null; headers?: Record<string, string> },
): IngressRecord {
  return {
    topic: 'retry.requests',
    partition: 2,
    offset: '41',
    timestamp: String(ts),
    key: null,
    ...over,
    value: over.value === null ? null : Buffer.from(over.value),
  };
}
const jsonTask = {
  source: 'orders',
  client_id: 'c1',
  destination_type: 'kafka',
  destination: { host: 'k2', port: 9092, topic: 'orders' },
  message_data: '{"n":1}',
  max_retries: 3,
  base_delay: 1,
};
function ok(result: ParseResult) {
  if (!result.ok) throw new Error(`expected a task, got: ${result.error.message}`);
  return result;
}
function bad(result: ParseResult) {
  if (result.ok) throw new Error(`expected malformed, got task ${result.task.id}`);
  return result.error;
}

describe('parseIngressMessage', () => {
  it('reads a JSON task from the retry topic and takes its id from the message coordinates when it has none', () => {
    const { task, form } = ok(parseIngressMessage(record({ value: JSON.stringify(jsonTask) }), ctx));
    expect(form).toBe('json');
    expect(task.id).toBe('kafka-retry.requests-2-41');
    expect(task.id).toBe(coordinateId({ topic: 'retry.requests', partition: 2, offset: '41' }));
    expect(task.destination).toEqual({ kind: 'kafka', host: 'k2', port: 9092, topic: 'orders' });
    expect(task.is_priority).toBe(false);
  });

  it('takes the id of a JSON task from the message-id header, and refuses a header that contradicts the body id', () => {
    const headers = { [RetryHeader.MessageId]: 'm-1' };
    expect(ok(parseIngressMessage(record({ value: JSON.stringify(jsonTask), headers }), ctx)).task.id).toBe('m-1');
    const same = { ...jsonTask, id: 'm-1' };
    expect(ok(parseIngressMessage(record({ value: JSON.stringify(same), headers }), ctx)).task.id).toBe('m-1');
    const other = { ...jsonTask, id: 'm-2' };
    expect(bad(parseIngressMessage(record({ value: JSON.stringify(other), headers }), ctx)).field).toBe('id');
  });

  it('names the field when a JSON task breaks the schema', () => {
    const error = bad(parseIngressMessage(record({ value: JSON.stringify({ ...jsonTask, max_retries: -1 }) }), ctx));
    expect(error.field).toBe('max_retries');
    expect(error.reason).toContain('max_retries cannot be negative');
  });

  it('refuses values that are not a JSON object', () => {
    expect(bad(parseIngressMessage(record({ value: 'not json' }), ctx)).reason).toMatch(/not JSON/);
    expect(bad(parseIngressMessage(record({ value: '[1]' }), ctx)).reason).toMatch(/JSON object/);
    expect(bad(parseIngressMessage(record({ value: null }), ctx)).reason).toMatch(/empty value/);
  });

  it('builds a Kafka task from a raw payload whose headers carry the task fields, keeping key and other headers', () => {
    const result = ok(
      parseIngressMessage(
        record({
          value: 'payload',
          key: Buffer.from('k'),
          headers: {
            [RetryHeader.TargetTopic]: 'orders',
            [RetryHeader.MaxRetries]: '4',
            [RetryHeader.BaseDelay]: '1.5',
            [RetryHeader.DelayTier]: '30s',
            [RetryHeader.MessageId]: 'abc',
            [RetryHeader.DeadTopic]: 'orders.dlt',
            [RetryHeader.Priority]: 'true',
            'trace-id': 't-1',
          },
        }),
        ctx,
      ),
    );
    expect(result.form).toBe('raw');
    expect(result.task).toMatchObject({
      id: 'abc',
      destination_type: 'kafka',
      destination: { brokers: ['k1:9092'], topic: 'orders' },
      dead_destination: { brokers: ['k1:9092'], topic: 'orders.dlt' },
      message_data: 'payload',
      key: 'k',
      max_retries: 4,
      base_delay: 1.5,
      delay_tier: '30s',
      is_priority: true,
      source: 'kafka:retry.requests',
      client_id: 'kafka-ingress',
      headers: { 'trace-id': 't-1' },
    });
  });

  it('builds an HTTP task from a raw payload with a target URL and applies the documented defaults', () => {
    const processAt = String(ts + 60_000);
    const { task } = ok(
      parseIngressMessage(
        record({
          value: 'hello',
          headers: { [RetryHeader.TargetUrl]: 'https://example.com/hook', [RetryHeader.ProcessAt]: processAt },
        }),
        ctx,
      ),
    );
    expect(task).toMatchObject({
      destination_type: 'http',
      destination: { url: 'https://example.com/hook' },
      max_retries: 5,
      base_delay: 5,
      deliver_at: new Date(ts + 60_000).toISOString(),
    });
    expect(task.headers).toBeUndefined();
  });

  it('names the header when a raw header value is not a number', () => {
    const error = bad(
      parseIngressMessage(
        record({ value: 'x', headers: { [RetryHeader.TargetTopic]: 'orders', [RetryHeader.MaxRetries]: 'many' } }),
        ctx,
      ),
    );
    expect(error.field).toBe('max_retries');
  });

  it('delivers a tier-topic message at its timestamp plus the tier, or at its process-at header', () => {
    const tierRecord = (headers: Record<string, string>) =>
      record({ topic: 'retry.delay.5m', value: 'v', headers: { [RetryHeader.TargetTopic]: 'orders', ...headers } });
    const byTier = ok(parseIngressMessage(tierRecord({}), ctx));
    expect(byTier.form).toBe('tier');
    expect(byTier.task.deliver_at).toBe(new Date(ts + 300_000).toISOString());
    expect(byTier.task.destination).toEqual({ kind: 'kafka', brokers: ['k1:9092'], topic: 'orders' });
    expect(byTier.task.id).toBe('kafka-retry.delay.5m-2-41');
    const exact = ok(parseIngressMessage(tierRecord({ [RetryHeader.ProcessAt]: '2030-01-02T03:04:05+02:00' }), ctx));
    expect(exact.task.deliver_at).toBe('2030-01-02T03:04:05+02:00');
  });

  it('refuses a tier-topic message without a target topic or with an unreadable process-at', () => {
    const noTarget = record({ topic: 'retry.delay.5s', value: 'v' });
    expect(bad(parseIngressMessage(noTarget, ctx)).field).toBe(RetryHeader.TargetTopic);
    const badTime = record({
      topic: 'retry.delay.5s',
      value: 'v',
      headers: { [RetryHeader.TargetTopic]: 'orders', [RetryHeader.ProcessAt]: 'tomorrow' },
    });
    expect(bad(parseIngressMessage(badTime, ctx)).field).toBe(RetryHeader.ProcessAt);
  });

  it('refuses topics that are neither the retry topic nor a known tier', () => {
    expect(bad(parseIngressMessage(record({ topic: 'retry.delay.7s', value: 'v' }), ctx)).reason).toMatch(/neither/);
  });

  it('refuses a JSON task with an unknown field instead of dropping it, naming the field', () => {
    const err = bad(
      parseIngressMessage(
        record({ value: JSON.stringify({ ...jsonTask, dead_destinaton: { host: 'k2', port: 9092, topic: 'dlq' } }) }),
        ctx,
      ),
    );
    expect(err.field).toBe('dead_destinaton');
    expect(err.reason).toMatch(/unknown field "dead_destinaton"/);
  });

  it('refuses a task id with a bidirectional override character from the message-id header', () => {
    const err = bad(
      parseIngressMessage(
        record({
          value: 'payload',
          headers: { [RetryHeader.TargetTopic]: 'orders', [RetryHeader.MessageId]: 'ab\u202Ecd' },
        }),
        ctx,
      ),
    );
    expect(err.field).toBe('id');
    expect(err.reason).toMatch(/U\+202E/);
  });

  it('takes the ordering key from its header, or from the record key only when the ingress is told so', () => {
    const raw = { [RetryHeader.TargetTopic]: 'orders' };
    const keyed = record({ value: 'payload', key: Buffer.from('customer-7'), headers: raw });
    expect(ok(parseIngressMessage(keyed, ctx)).task.ordering_key).toBeUndefined();
    expect(ok(parseIngressMessage(keyed, { ...ctx, orderingFromRecordKey: true })).task.ordering_key).toBe(
      'customer-7',
    );
    const headers = { ...raw, [RetryHeader.OrderingKey]: 'acct-1', [RetryHeader.OnDeadLetter]: 'block' };
    const byHeader = ok(
      parseIngressMessage(record({ value: 'payload', key: Buffer.from('x'), headers }), {
        ...ctx,
        orderingFromRecordKey: true,
      }),
    ).task;
    expect(byHeader).toMatchObject({ ordering_key: 'acct-1', on_dead_letter: 'block' });
    // Ordering headers steer the ingress: they are not delivered.
    expect(byHeader.headers).toBeUndefined();
    const json = record({
      value: JSON.stringify({ ...jsonTask, ordering_key: 'a' }),
      headers: { [RetryHeader.OrderingKey]: 'a' },
    });
    expect(ok(parseIngressMessage(json, ctx)).task.ordering_key).toBe('a');
  });

  it('names the field of a bad ordering header', () => {
    const json = record({
      value: JSON.stringify({ ...jsonTask, ordering_key: 'a' }),
      headers: { [RetryHeader.OrderingKey]: 'b' },
    });
    expect(bad(parseIngressMessage(json, ctx)).field).toBe('ordering_key');
    const headers = {
      [RetryHeader.TargetTopic]: 'orders',
      [RetryHeader.OrderingKey]: 'k',
      [RetryHeader.OnDeadLetter]: 'stop',
    };
    expect(bad(parseIngressMessage(record({ value: 'p', headers }), ctx)).field).toBe('on_dead_letter');
    const alone = { [RetryHeader.TargetTopic]: 'orders', [RetryHeader.OnDeadLetter]: 'block' };
    expect(bad(parseIngressMessage(record({ value: 'p', headers: alone }), ctx)).field).toBe('on_dead_letter');
    const spaced = { [RetryHeader.TargetTopic]: 'orders', [RetryHeader.OrderingKey]: 'has space' };
    expect(bad(parseIngressMessage(record({ value: 'p', headers: spaced }), ctx)).field).toBe('ordering_key');
  });
});
