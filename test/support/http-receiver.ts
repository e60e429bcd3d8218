import type { ServerResponse } from 'node:http';
import { freePort } from '../../scripts/stack/process';
import { ReceiverServer, type Arrival } from '../../testkit/http-receiver';

/** How a route of the receiver answers. */
export type ReceiverMode =
  /** 200 (or `status`) with a small JSON body. */
  | { mode: 'succeed'; status?: number; body?: string }
  /** `status` (default 503) for the first `failures` requests, then 200. */
  | { mode: 'fail_then_succeed'; failures: number; status?: number }
  /** A fixed status, optional body and headers (503, 410, 400, 429 + Retry-After …). */
  | { mode: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Never answers (the connection stays open until the client gives up). */
  | { mode: 'hang' }
  /** 200 headers at once, then `chunks` body chunks every `intervalMs`. */
  | { mode: 'slow_body'; chunks: number; intervalMs: number }
  /** A body of `bytes` bytes. */
  | { mode: 'big_body'; bytes: number }
  /** A redirect (default 302) to `location`. */
  | { mode: 'redirect'; location: string; status?: number };

/** One request as the receiver saw it. */
export type ReceivedRequest = Arrival;

type Routes = Map<string, { mode: ReceiverMode; requests: ReceivedRequest[] }>;

/**
 * A real HTTP receiver on 127.0.0.1 (testkit/http-receiver.ts) for delivery tests. Each path has a mode and its own
 * request log.
 */
export class HttpReceiver {
  private constructor(
    private readonly server: ReceiverServer,
    private readonly routes: Routes,
  ) {}

  static async start(): Promise<HttpReceiver> {
    const routes: Routes = new Map();
    const server = await ReceiverServer.start((received, res) => {
      const route = routes.get(received.path);
      if (!route) {
        res.writeHead(404).end('no such route');
        return;
      }
      route.requests.push(received);
      respond(route.mode, route.requests.length, res);
    });
    return new HttpReceiver(server, routes);
  }

  /** Base URL, e.g. `http://127.0.0.1:43117`. */
  get origin(): string {
    return this.server.origin;
  }

  /** TCP connections accepted since start (keep-alive reuse keeps this low). */
  get connectionsAccepted(): number {
    return this.server.connectionsAccepted;
  }

  /** Connections open right now (keep-alive reuse shows as a steady count). */
  get openConnections(): number {
    return this.server.openConnections;
  }

  /** Sets the mode of `path` (resetting its log) and returns its absolute URL. */
  route(path: string, mode: ReceiverMode): string {
    this.routes.set(path, { mode, requests: [] });
    return `${this.origin}${path}`;
  }

  /** Requests received on `path` so far. */
  requests(path: string): ReceivedRequest[] {
    return this.routes.get(path)?.requests ?? [];
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

function respond(mode: ReceiverMode, nth: number, res: ServerResponse): void {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  switch (mode.mode) {
    case 'succeed':
      if (mode.body !== undefined) res.writeHead(mode.status ?? 200).end(mode.body);
      else json(mode.status ?? 200, { ok: true, n: nth });
      return;
    case 'fail_then_succeed':
      if (nth <= mode.failures) json(mode.status ?? 503, { ok: false, n: nth });
      else json(200, { ok: true, n: nth });
      return;
    case 'status':
      res.writeHead(mode.status, mode.headers ?? {}).end(mode.body ?? `status ${mode.status}`);
      return;
    case 'hang':
      return;
    case 'slow_body': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(`chunk-${sent};`);
        if (++sent >= mode.chunks) {
          clearInterval(timer);
          res.end();
        }
      }, mode.intervalMs);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'big_body':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(mode.bytes));
      return;
    case 'redirect':
      res.writeHead(mode.status ?? 302, { location: mode.location }).end();
      return;
  }
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function refusedUrl(path = '/'): Promise<string> {
  return `http://127.0.0.1:${await freePort()}${path}`;
}
