import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as a receiver saw it, stamped when its whole body had arrived. */
export interface Arrival {
  method: string;
  /** The request path without its query string. */
  path: string;
  /** The request target as sent (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Wall-clock arrival, epoch milliseconds (comparable with Date.now() elsewhere in the process). */
  at: number;
  /** Monotonic arrival, milliseconds (performance.now() of this process). */
  hrAt: number;
}

/** Answers one arrival; it may answer later, or never (the connection stays open until the client gives up). */
export type ArrivalHandler = (arrival: Arrival, res: ServerResponse) => void;

export interface ReceiverServerOptions {
  /** How long an idle keep-alive connection stays open, milliseconds. @default node:http's (5 s) */
  keepAliveTimeoutMs?: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 (a free port) for tests, benchmarks and the chaos suite: it reads each request's
 * body, stamps its arrival (wall clock and monotonic, taken together when the body is complete) and hands it to one
 * handler, which decides the answer. What a receiver does with a request (routes, failure scripts, per-id counts)
 * lives in its handler; listening, stamping, connection counts and stopping live here once.
 */
export class ReceiverServer {
  /** TCP connections accepted since start (keep-alive reuse keeps this low). */
  connectionsAccepted = 0;
  private readonly sockets = new Set<Socket>();

  /** Base URL, e.g. `http://127.0.0.1:43117`. */
  origin = '';

  private constructor(private readonly server: http.Server) {
    server.on('connection', (s: Socket) => {
      this.connectionsAccepted++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Starts a receiver and resolves once it listens. */
  static async start(handler: ArrivalHandler, opts: ReceiverServerOptions = {}): Promise<ReceiverServer> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hrAt = performance.now();
        const at = Date.now();
        const url = req.url ?? '/';
        const path = url.split('?')[0] ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        handler({ method: req.method ?? '', path, url, headers: req.headers, body, at, hrAt }, res);
      });
    });
    if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
    const receiver = new ReceiverServer(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** Connections open right now (keep-alive reuse shows as a steady count). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Closes the server and every connection, idle or not (a request still unanswered is cut off). */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
