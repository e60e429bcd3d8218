import { DeliveryFailureType, type FailureClass } from '../../domain/failures';
import { SsrfBlockedError } from '../ssrf-guard';

/** What an HTTP status code means for a delivery. */
export const HttpOutcome = {
  Success: 'success',
  Retryable: 'retryable',
  Permanent: 'permanent',
  Redirect: 'redirect',
} as const;
export type HttpOutcome = (typeof HttpOutcome)[keyof typeof HttpOutcome];

/** Statuses worth another attempt besides 5xx: Request Timeout, Too Early, Too Many Requests. */
const retryableClientStatuses = new Set([408, 425, 429]);
/** Redirects the client may follow (re-sending the same method and body); 303 and 300/304/305 are not followed. */
export const followableRedirects = new Set([301, 302, 307, 308]);

/** 2xx success; 408, 425, 429, 5xx retryable; 3xx redirect; 410 and every other status permanent. */
export function classifyHttpStatus(status: number): HttpOutcome {
  if (status >= 200 && status < 300) return HttpOutcome.Success;
  if (status >= 500 || retryableClientStatuses.has(status)) return HttpOutcome.Retryable;
  if (status >= 300 && status < 400) return HttpOutcome.Redirect;
  return HttpOutcome.Permanent;
}

/**
 * Parses a Retry-After value: delay-seconds (`120`) or an HTTP-date. Returns milliseconds from `nowMs` (never
 * negative), or undefined when absent or unparseable.
 */
export function parseRetryAfterMs(value: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Thrown by the HTTP client when the per-attempt deadline passes before the response headers arrive. */
export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(public readonly timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}

const timeoutCodes = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Classifies an error thrown before a status arrived. The SSRF guard's refusal and invalid requests are permanent;
 * timeouts, refused/reset connections, DNS failures, TLS failures and socket errors are retryable (the receiver
 * can come back or fix its certificate).
 */
export function classifyHttpError(err: unknown): FailureClass {
  const chain = causes(err);
  const blocked = chain.find((e) => e instanceof SsrfBlockedError);
  if (blocked) return { type: DeliveryFailureType.Permanent, errorClass: 'ssrf_blocked', message: blocked.message };
  const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string');
  const first = chain[0];
  const message = first instanceof Error ? first.message : String(err);
  if (codes.some((c) => timeoutCodes.has(c))) {
    return { type: DeliveryFailureType.Retryable, errorClass: 'timeout', message };
  }
  if (codes.includes('UND_ERR_INVALID_ARG') || codes.includes('ERR_INVALID_URL')) {
    return { type: DeliveryFailureType.Permanent, errorClass: 'invalid_request', message };
  }
  // Prefer the OS/TLS code (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED) over undici's wrapper codes.
  const specific = codes.find((c) => !c.startsWith('UND_ERR')) ?? codes[0] ?? 'network_error';
  return { type: DeliveryFailureType.Retryable, errorClass: specific, message: describeChain(chain) };
}

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 5 && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function describeChain(chain: unknown[]): string {
  const messages = chain.map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean);
  return [...new Set(messages)].join(': ');
}
