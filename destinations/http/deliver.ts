import type { DeliveryReceipt, HttpDeliveryRequest } from '../../domain/delivery';
import { describeDestination, taskDefaults } from '../../domain/task';
import { ackHeaders } from '../ack-token';
import { classifyHttpError, classifyHttpStatus, HttpOutcome, parseRetryAfterMs } from './classify';
import { DeliveryError, permanent, retryable } from '../delivery-error';
import { DeliveryHeader, deliveryHeaders, headerSafe } from '../delivery-headers';
import type { DestinationGuards } from '../guard';
import { httpDestinationKey } from './key';
import type { HttpClient } from './client';
import { UnknownSecretError, type WebhookSigner } from '../webhook-signer';

/** What {@link deliverHttpOnce} needs; built once per worker by `createDeliveryDeps`. */
export interface HttpDeliveryDeps {
  http: HttpClient;
  signer: WebhookSigner;
  guards: DestinationGuards;
  /** `User-Agent` value: `<product>/<version>`. */
  userAgent: string;
  /** HTTP_BODY_SNIPPET_CHARS: response characters kept in the receipt / failure details. */
  bodySnippetChars: number;
  /** Receiver acknowledgement: ACK_SECRET (unset: deliveries that need an ack fail) and the ack URLs' base. */
  ack?: { secret: string | undefined; baseUrl: string };
}

/** Request headers a task may not set: the client computes them, or they would break the connection. */
const reservedRequestHeaders = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
]);

/**
 * One HTTP delivery attempt: builds the request (body, delivery headers, Standard Webhooks signature), sends it
 * through the destination's guard and the SSRF-guarded client, and classifies the outcome.
 * @returns the receipt of a 2xx
 * @throws DeliveryError (Retryable / Permanent / CircuitOpen) — see domain/delivery.ts
 */
export async function deliverHttpOnce(
  deps: HttpDeliveryDeps,
  req: HttpDeliveryRequest,
  signal?: AbortSignal,
): Promise<DeliveryReceipt> {
  const dest = req.destination;
  const method = dest.method ?? taskDefaults.http_method;
  const headers = buildHeaders(deps, req);
  let key: string;
  try {
    key = httpDestinationKey(dest.url);
  } catch {
    throw permanent(`destination url ${dest.url} is not a valid URL`, { error_class: 'invalid_url', duration_ms: 0 });
  }
  return deps.guards.run(
    key,
    async () => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let res;
      try {
        res = await deps.http.send({
          url: dest.url,
          method,
          headers,
          body: req.message_data,
          timeoutMs: req.timeout_ms,
          signal,
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        const c = classifyHttpError(err);
        throw new DeliveryError(c.type, `${method} ${dest.url}: ${c.message}`, {
          error_class: c.errorClass,
          duration_ms: elapsed(),
        });
      }
      const snippet = res.body.slice(0, deps.bodySnippetChars);
      const where = `${method} ${res.url}`;
      const outcome = classifyHttpStatus(res.status);
      const base = {
        duration_ms: elapsed(),
        status_code: res.status,
        ...(snippet ? { body_snippet: snippet } : {}),
      };
      if (outcome === HttpOutcome.Success) return base;
      const retryAfterMs = parseRetryAfterMs(res.headers['retry-after']);
      const details = {
        ...base,
        error_class: `http_${res.status}`,
        ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
      };
      if (outcome === HttpOutcome.Retryable) throw retryable(`HTTP ${res.status} from ${where}`, details);
      if (outcome === HttpOutcome.Redirect && res.redirect) {
        throw permanent(
          `HTTP ${res.status} from ${where}: redirected to ${res.redirect.location}; ${res.redirect.notFollowed}`,
          {
            ...details,
            error_class: 'redirect',
          },
        );
      }
      throw permanent(`HTTP ${res.status} from ${where}`, details);
    },
    signal,
    // Only primary deliveries wait for a paused destination; a dead letter goes out regardless.
    req.kind === 'primary' && !req.released,
  );
}

/**
 * Headers, lowest precedence first: content type and user agent; the destination's headers; the task's headers;
 * then the service's own (X-Message-Key, Idempotency-Key, x-retry-*, signature), which a task cannot override.
 */
function buildHeaders(deps: HttpDeliveryDeps, req: HttpDeliveryRequest): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': isJson(req.message_data) ? 'application/json' : 'text/plain; charset=utf-8',
    'user-agent': deps.userAgent,
  };
  for (const source of [req.destination.headers, req.headers]) {
    for (const [name, value] of Object.entries(source ?? {})) {
      const lower = name.toLowerCase();
      if (!reservedRequestHeaders.has(lower)) headers[lower] = headerSafe(value);
    }
  }
  Object.assign(headers, deliveryHeaders(req), {
    'x-message-key': `${req.task_id}|${req.attempt}`,
    'idempotency-key': req.task_id,
  });
  if (req.key !== undefined) headers[DeliveryHeader.Key] = headerSafe(req.key);
  if (req.destination.ack_timeout !== undefined) Object.assign(headers, receiverAckHeaders(deps, req));
  const ref = req.destination.signing_secret_ref;
  if (ref !== undefined) {
    try {
      Object.assign(headers, deps.signer.sign(ref, req.task_id, req.message_data));
    } catch (err) {
      if (err instanceof UnknownSecretError) {
        throw permanent(`${err.message}; cannot sign the delivery to ${describeDestination(req.destination)}`, {
          error_class: 'unknown_secret',
          duration_ms: 0,
        });
      }
      throw err;
    }
  }
  return headers;
}

/** X-Ack-Url, X-Nack-Url and X-Ack-Token of a delivery whose destination asks for acknowledgement. */
function receiverAckHeaders(deps: HttpDeliveryDeps, req: HttpDeliveryRequest): Record<string, string> {
  const secret = deps.ack?.secret;
  if (secret === undefined || deps.ack === undefined) {
    throw permanent('ACK_SECRET is not set on this worker: cannot issue the X-Ack-Token that ack_timeout needs', {
      error_class: 'ack_not_configured',
      duration_ms: 0,
    });
  }
  const target = req.kind === 'primary' ? 'primary' : 'dead_letter';
  return ackHeaders({ secret, baseUrl: deps.ack.baseUrl }, req.task_id, {
    target,
    round: req.ack_round ?? 0,
    attempt: req.attempt,
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
