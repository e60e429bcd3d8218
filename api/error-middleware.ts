import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../platform/logger';
import { ApiError, isTemporalUnavailable, TemporalUnavailableError } from './errors';

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
