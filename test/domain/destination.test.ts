import { describe, expect, it } from 'vitest';
import {
  assertNever,
  describeDestination,
  destinationKind,
  destinationTopic,
  destinationTypes,
  httpUrlsOf,
  isDestinationType,
  tagDestination,
  tagTask,
} from '../../domain/destination';
import { AnyDestination, TaskInput } from '../../domain/task';

describe('destination kinds (pure, no server)', () => {
  const http = { url: 'https://receiver.example/hook' };
  const kafka = { host: 'broker', port: '9092', topic: 'orders' };

  it('tells the kind, describes and names the topic of each kind', () => {
    expect(destinationKind(http)).toBe('http');
    expect(destinationKind(kafka)).toBe('kafka');
    expect(describeDestination(http)).toBe('POST https://receiver.example/hook');
    expect(describeDestination({ ...http, method: 'PUT' })).toBe('PUT https://receiver.example/hook');
    expect(describeDestination(kafka)).toBe('kafka orders@broker:9092');
    expect(describeDestination({ topic: 't', cluster: 'main' })).toBe('kafka t@main');
    expect(destinationTopic(kafka)).toBe('orders');
    expect(destinationTopic(http)).toBeUndefined();
  });

  it('lists the HTTP URLs of a task with their fields, for the SSRF pre-check', () => {
    expect(httpUrlsOf({ destination: http, dead_destination: { url: 'http://dead.example' } })).toEqual([
      ['destination.url', http.url],
      ['dead_destination.url', 'http://dead.example'],
    ]);
    expect(httpUrlsOf({ destination: kafka, dead_destination: null })).toEqual([]);
  });

  it('knows every kind and refuses others', () => {
    expect(destinationTypes).toEqual(['kafka', 'http']);
    expect(isDestinationType('http')).toBe(true);
    expect(isDestinationType('amqp')).toBe(false);
    expect(() => assertNever('amqp' as never)).toThrow(/unhandled destination kind/);
  });

  it('fills in the kind when parsing a destination that does not declare it, and keeps a declared one', () => {
    expect(AnyDestination.parse(http)).toEqual({ ...http, kind: 'http' });
    expect(AnyDestination.parse(kafka)).toEqual({ ...kafka, kind: 'kafka' });
    expect(AnyDestination.parse({ ...kafka, kind: 'kafka' })).toEqual({ ...kafka, kind: 'kafka' });
    expect(AnyDestination.safeParse({ ...http, kind: 'kafka' }).success).toBe(false);
    const task = TaskInput.parse({
      id: 't1',
      source: 's',
      client_id: 'c',
      message_data: 'm',
      max_retries: 1,
      base_delay: 1,
      destination_type: 'kafka',
      destination: kafka,
      dead_destination: http,
    });
    expect([task.destination.kind, task.dead_destination?.kind]).toEqual(['kafka', 'http']);
  });

  it('tells the kind of a destination recorded without one by its required field', () => {
    expect(tagDestination(http)).toEqual({ ...http, kind: 'http' });
    expect(tagDestination(kafka)).toEqual({ ...kafka, kind: 'kafka' });
    const declared = { kind: 'http' as const, url: 'https://x.example' };
    expect(tagDestination(declared)).toBe(declared);
    const stored = { destination: kafka, dead_destination: null, destination_type: 'kafka' } as never;
    expect(tagTask(stored)).toMatchObject({ destination: { kind: 'kafka' }, dead_destination: null });
  });
});
