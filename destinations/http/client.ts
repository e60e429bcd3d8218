import net from 'node:net';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { followableRedirects, HttpTimeoutError } from './classify';
import {
  addressBlockedReason,
  compileAllowList,
  createGuardedLookup,
  SsrfBlockedError,
  type ResolveAll,
  type SsrfPolicy,
} from '../ssrf-guard';

/** Options of the shared HTTP client (one per worker process). */
export interface HttpClientOptions {
  /** SSRF_ALLOW: host names, addresses or CIDR ranges the guard lets through although they are not public. */
  ssrfAllow: readonly string[];
  /** HTTP_MAX_RESPONSE_BYTES: response body bytes read at most; the rest is discarded. @default 65536 */
  maxResponseBytes?: number;
  /** HTTP_MAX_REDIRECTS: redirects followed per delivery, each hop re-checked by the guard. @default 0 */
  maxRedirects?: number;
  /** TCP (+TLS) connect timeout, milliseconds; the per-request deadline also applies. @default 10000 */
  connectTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept, milliseconds (shorter if the server says so). @default 30000 */
  keepAliveTimeoutMs?: number;
  /** Host resolution (tests inject one to exercise DNS rebinding). @default dns.lookup with all: true */
  resolveAll?: ResolveAll;
}

/** One HTTP request of a delivery. */
export interface HttpSendRequest {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  body: string;
  /** Deadline of the whole exchange (all hops, headers and body), milliseconds. */
  timeoutMs: number;
  /** Aborts the request (activity cancellation). */
  signal?: AbortSignal;
}

/** The response of the last hop. */
export interface HttpSendResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Response body decoded as UTF-8, at most `maxResponseBytes` bytes of it. */
  body: string;
  /** True when the body was longer than the cap, or the deadline passed while it was being read. */
  bodyTruncated: boolean;
  /** URL of the last hop (differs from the request URL after redirects). */
  url: string;
  /** Redirects followed. */
  redirects: number;
  /** For a 3xx that was not followed: where it pointed (absolute), and why it was not followed. */
  redirect?: { location: string; notFollowed: string };
}

/** The keep-alive HTTP client of the worker, with the SSRF guard on every connection. */
export interface HttpClient {
  send(req: HttpSendRequest): Promise<HttpSendResult>;
  /** The allow-list as parsed (for submit-time checks that should match the worker's). */
  readonly policy: SsrfPolicy;
  /** Closes idle connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Headers not sent on to a different origin after a redirect (fetch spec does the same for Authorization). */
const crossOriginSensitive = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Creates the client: an undici `Agent` keeps a keep-alive pool per origin; its connector checks literal addresses
 * and resolves host names through the guarded lookup, so every connection (first, redirected, reconnected) is to an
 * allowed address. Redirects are never followed by undici; {@link HttpClient.send} follows at most `maxRedirects`
 * of 301/302/307/308, re-sending the same method, body and headers through the same guarded agent.
 */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const policy = compileAllowList(opts.ssrfAllow);
  const maxResponseBytes = opts.maxResponseBytes ?? 65_536;
  const maxRedirects = opts.maxRedirects ?? 0;
  const baseConnector = buildConnector({
    lookup: createGuardedLookup(policy, opts.resolveAll),
    timeout: opts.connectTimeoutMs ?? 10_000,
  });
  const guardedConnector: buildConnector.connector = (connectOpts, callback) => {
    const host = connectOpts.hostname.replace(/^\[|\]$/g, '');
    // net.connect skips `lookup` for literal addresses, so those are checked here.
    if (net.isIP(host)) {
      const reason = addressBlockedReason(host, policy);
      if (reason) {
        callback(new SsrfBlockedError(host, host, reason), null);
        return;
      }
    }
    baseConnector(connectOpts, callback);
  };
  const agent = new Agent({
    connect: guardedConnector,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: 10 * 60_000,
  });

  async function send(req: HttpSendRequest): Promise<HttpSendResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new HttpTimeoutError(req.timeoutMs)), req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
    try {
      let url = new URL(req.url);
      let headers = { ...req.headers };
      // The final answer: status, headers, capped body (and why a redirect stopped it). Awaited inside the try, so
      // the deadline still bounds the body read.
      const finish = async (
        res: Dispatcher.ResponseData,
        at: URL,
        redirects: number,
        redirect?: HttpSendResult['redirect'],
      ): Promise<HttpSendResult> => {
        const { body, truncated } = await readCapped(res.body, maxResponseBytes, signal);
        const result: HttpSendResult = {
          status: res.statusCode,
          headers: res.headers,
          body,
          bodyTruncated: truncated,
          url: at.toString(),
          redirects,
        };
        return redirect ? { ...result, redirect } : result;
      };
      for (let redirects = 0; ; redirects++) {
        const res = await request(url, {
          dispatcher: agent,
          method: req.method,
          headers,
          body: req.body,
          signal,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        });
        const location = headerValue(res.headers.location);
        if (res.statusCode >= 300 && res.statusCode < 400 && location) {
          const target = resolveLocation(location, url);
          const notFollowed = !target
            ? `the Location "${location}" is not an http(s) URL`
            : !followableRedirects.has(res.statusCode)
              ? `${res.statusCode} redirects are not followed for deliveries`
              : redirects >= maxRedirects
                ? maxRedirects === 0
                  ? 'redirects are not followed (HTTP_MAX_REDIRECTS=0)'
                  : `more than ${maxRedirects} redirects (HTTP_MAX_REDIRECTS)`
                : undefined;
          if (notFollowed || !target) {
            return await finish(res, url, redirects, {
              location: target?.toString() ?? location,
              notFollowed: notFollowed ?? '',
            });
          }
          await res.body.dump({ limit: maxResponseBytes }).catch(() => undefined);
          if (target.origin !== url.origin) headers = withoutHeaders(headers, crossOriginSensitive);
          url = target;
          continue;
        }
        return await finish(res, url, redirects);
      }
    } catch (err) {
      // undici rejects with the abort reason; make sure a deadline reads as a timeout, not as a generic abort.
      if (deadline.signal.aborted && !req.signal?.aborted) throw deadline.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    send,
    policy,
    close: () => agent.close(),
  };
}

/**
 * Reads at most `maxBytes` of a body. Past the cap the rest is discarded (the connection is then not reused);
 * if the deadline passes mid-body, what arrived is kept: the status has already decided the outcome. Cancellation
 * still propagates.
 */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      const room = maxBytes - size;
      if (buf.length >= room) {
        if (room > 0) chunks.push(buf.subarray(0, room));
        size = maxBytes;
        truncated = buf.length > room || !body.readableEnded;
        break;
      }
      chunks.push(buf);
      size += buf.length;
    }
  } catch (err) {
    if (!(signal.aborted && signal.reason instanceof HttpTimeoutError)) throw err;
    truncated = true;
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  return { body: Buffer.concat(chunks).toString('utf8'), truncated };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function resolveLocation(location: string, base: URL): URL | undefined {
  try {
    const target = new URL(location, base);
    return target.protocol === 'http:' || target.protocol === 'https:' ? target : undefined;
  } catch {
    return undefined;
  }
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}
