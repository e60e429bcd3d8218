import { describe, expect, it } from 'vitest';
import {
  assertNever,
  describeDestination,
  destinationKind,
  destinationTopic,
  destinationTypes,
  httpUrlsOf,
  isDestinationType,
} from '../../domain/destination';

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
});
