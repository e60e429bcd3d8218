import { afterEach, describe, expect, it } from 'vitest';
import { ReceiverServer, type Arrival } from '../../testkit/http-receiver';

/** The one local HTTP receiver of tests, bench and chaos: what every receiver built on it relies on. */
describe('testkit ReceiverServer', () => {
  let server: ReceiverServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('hands each request to the handler with its whole body, path, query and arrival stamps taken after the body', async () => {
    const arrivals: Arrival[] = [];
    server = await ReceiverServer.start((arrival, res) => {
      arrivals.push(arrival);
      res.writeHead(201).end('made');
    });
    const before = Date.now();
    const hrBefore = performance.now();
    const res = await fetch(`${server.origin}/hook?x=1`, {
      method: 'POST',
      headers: { 'idempotency-key': 't-1' },
      body: 'a'.repeat(100_000),
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('made');
    expect(arrivals).toHaveLength(1);
    const [a] = arrivals as [Arrival];
    expect(a).toMatchObject({ method: 'POST', path: '/hook', url: '/hook?x=1' });
    expect(a.headers['idempotency-key']).toBe('t-1');
    expect(a.body).toHaveLength(100_000);
    expect(a.at).toBeGreaterThanOrEqual(before);
    expect(a.at).toBeLessThanOrEqual(Date.now());
    expect(a.hrAt).toBeGreaterThanOrEqual(hrBefore);
  });

  it('counts accepted connections and cuts a request still unanswered when it stops', async () => {
    server = await ReceiverServer.start(() => undefined);
    const hanging = fetch(`${server.origin}/never`).then(
      () => 'answered',
      () => 'cut off',
    );
    await expect.poll(() => server!.openConnections).toBe(1);
    expect(server.connectionsAccepted).toBe(1);
    await server.stop();
    expect(await hanging).toBe('cut off');
  });
});
