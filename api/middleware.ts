import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Config } from '../platform/config';
import { ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError } from './errors';

/** Routes anyone may call even when API keys are configured. */
const publicPaths = new Set(['/health', '/metrics', '/openapi.json']);
/** A receiver's ack and nack carry their own credential, the delivery's X-Ack-Token (use-cases/receiver-ack.ts). */
const receiverAnswerPath = /^\/tasks\/[^/]+\/(?:ack|nack)$/;
const isPublic = (path: string) =>
  publicPaths.has(path) || path === '/docs' || path.startsWith('/docs/') || receiverAnswerPath.test(path);

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Optional API keys: when API_KEYS is set, every route but /health, /metrics, /openapi.json, /docs and a receiver's
 * ack / nack (authorized by their token) needs
 * `Authorization: Bearer <key>` → 401 without one, 403 with a wrong one. Keys are compared in constant time.
 */
export function apiKeyAuth(config: Config): RequestHandler {
  const keys = config.API_KEYS.map(digest);
  return (req, _res, next) => {
    if (keys.length === 0 || isPublic(req.path)) return next();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match?.[1]) return next(new UnauthorizedError());
    const given = digest(match[1]);
    if (!keys.some((k) => timingSafeEqual(k, given))) return next(new ForbiddenError());
    next();
  };
}

/** 415 for a request that carries a body which is not JSON (requests without a body pass). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.get('content-length') === '0') return next();
  if (req.is(['application/json', '+json']) === false) {
    return next(new UnsupportedMediaTypeError(req.get('content-type') ?? 'no content type'));
  }
  next();
};

/**
 * Per-client rate limit on task submission (RATE_LIMIT_PER_MINUTE; 0 = off): keyed by the body's client_id, else
 * the caller's IP. Priority tasks pass when RATE_LIMIT_PRIORITY_BYPASS (seed 001: "allow high-priority messages even
 * when rate limited"). A batch counts as one request for the client_id it carries (first item's). Answers 429 with
 * Retry-After.
 */
export function submissionRateLimit(config: Config): RequestHandler {
  if (config.RATE_LIMIT_PER_MINUTE === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: config.RATE_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const body = req.body as { client_id?: unknown; tasks?: { client_id?: unknown }[] } | undefined;
      const clientId = body?.client_id ?? (Array.isArray(body?.tasks) ? body.tasks[0]?.client_id : undefined);
      return typeof clientId === 'string' && clientId !== ''
        ? `client:${clientId}`
        : `ip:${ipKeyGenerator(req.ip ?? '')}`;
    },
    skip: (req) => {
      if (!config.RATE_LIMIT_PRIORITY_BYPASS) return false;
      const body = req.body as { is_priority?: unknown; tasks?: { is_priority?: unknown }[] } | undefined;
      if (body?.is_priority === true) return true;
      // A batch passes only when every item is a priority task.
      return Array.isArray(body?.tasks) && body.tasks.length > 0 && body.tasks.every((t) => t?.is_priority === true);
    },
    handler: (_req, res, _next, options) => {
      res.status(options.statusCode).json({
        error: `rate limit exceeded: at most ${config.RATE_LIMIT_PER_MINUTE} submissions per minute per client`,
        field: 'client_id',
      });
    },
  });
}
