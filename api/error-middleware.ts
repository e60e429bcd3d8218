import type { ErrorRequestHandler } from 'express';
import { isGrpcDeadlineError, isGrpcServiceError } from '@temporalio/client';
import type { Logger } from '../platform/logger';
import { ApiError, TemporalUnavailableError } from './errors';

/** gRPC codes that mean "Temporal is not there right now" rather than "your request is wrong". */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
const unavailableCodes = new Set<number>([GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED]);

/** True when an error (or one of its causes) says Temporal cannot be reached. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TemporalUnavailableError) return true;
    if (isGrpcDeadlineError(e)) return true;
    if (isGrpcServiceError(e) && unavailableCodes.has(e.code)) return true;
  }
  return false;
}

/** body-parser's errors carry `type` and `status`; these are the ones a client can cause. */
const bodyParserErrors: Record<string, { status: number; error: string }> = {
  'entity.too.large': { status: 413, error: 'request body is too large' },
  'entity.parse.failed': { status: 400, error: 'request body is not valid JSON' },
  'encoding.unsupported': { status: 415, error: 'unsupported content encoding' },
  'charset.unsupported': { status: 415, error: 'unsupported charset' },
  'request.aborted': { status: 400, error: 'request aborted' },
  'request.size.invalid': { status: 400, error: 'request size did not match content length' },
};

/**
 * The one error middleware: maps error classes to status codes with a JSON body `{ error, field?, ... }`. Never
 * sends a stack trace; unexpected errors are logged and answered with a generic 500.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof ApiError) {
      if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(err.status).json({ error: err.message, ...err.body });
      return;
    }
    const type = (err as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && bodyParserErrors[type]) {
      const { status, error } = bodyParserErrors[type];
      res.status(status).json({ error, field: '(body)' });
      return;
    }
    if (isTemporalUnavailable(err)) {
      logger.warn({ err, path: req.path }, 'Temporal unreachable');
      res.status(503).json({ error: new TemporalUnavailableError('').message });
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled API error');
    res.status(500).json({ error: 'internal error' });
  };
}
