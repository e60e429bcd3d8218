import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { errorMiddleware } from './error-middleware';
import { RouteNotFoundError } from './errors';
import { methodSemantics } from './methods';
import { apiKeyAuth, requireJsonBody, submissionRateLimit } from './middleware';
import { documentedMethods } from './openapi';
import { deadLettersRouter } from './routes/dead-letters';
import { destinationsRouter } from './routes/destinations';
import { jobsRouter } from './routes/jobs';
import { opsRouter } from './routes/ops';
import { receiverAckRouter } from './routes/receiver-ack';
import { tasksRouter } from './routes/tasks';
import type { ApiDeps } from './use-cases/deps';

export type { ApiDeps } from './use-cases/deps';

/**
 * The Express app: auth → OPTIONS → JSON body (API_BODY_LIMIT; 413 when larger, 415 when not JSON) → routes → 405
 * for the documented paths → 404 → the one error middleware. Holds no state besides the rate limiter's in-memory counters.
 */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  const methods = methodSemantics(documentedMethods());
  app.disable('x-powered-by');
  app.use(apiKeyAuth(deps.config));
  app.use(methods.options);
  app.use(requireJsonBody);
  app.use(express.json({ limit: deps.config.API_BODY_LIMIT, type: ['application/json', '+json'] }));
  app.use(opsRouter(deps));
  app.use(jobsRouter(deps));
  app.use(tasksRouter(deps, { submit: submissionRateLimit(deps.config) }));
  app.use(receiverAckRouter(deps));
  app.use(deadLettersRouter(deps));
  app.use(destinationsRouter(deps));
  app.use(methods.notAllowed);
  app.use((req, _res, next) => next(new RouteNotFoundError(req.method, req.path)));
  app.use(errorMiddleware(deps.logger));
  return app;
}

export interface WebServer {
  app: Express;
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops accepting connections and waits for open requests to finish (idle keep-alive sockets are closed). */
  stop(): Promise<void>;
}

/**
 * Starts the API on API_HOST:API_PORT (tests pass API_PORT 0 for a free port). The Temporal client is the caller's:
 * stop() does not close its connection.
 */
export async function startWebServer(deps: ApiDeps): Promise<WebServer> {
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(deps.config.API_PORT, deps.config.API_HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { address, port } = server.address() as AddressInfo;
  const host =
    address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  deps.logger.info({ url }, 'API listening');
  return {
    app,
    server,
    url,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
