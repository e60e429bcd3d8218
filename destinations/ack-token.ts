import { createHmac, timingSafeEqual } from 'node:crypto';
import { AckHeader, type AckTarget } from '../domain/ack';

/**
 * X-Ack-Token: `v1.<p|d>.<round>.<attempt>.<mac>`, the MAC an HMAC-SHA256 under ACK_SECRET over the task id and the
 * delivery it answers (domain/ack.ts). Unguessable without the secret, bound to one task and one attempt, the same in
 * every worker and API process that shares the secret. Tokens are credentials: never log them.
 */
const VERSION = 'v1';
const targetCode = { primary: 'p', dead_letter: 'd' } as const;
const TOKEN = /^v1\.([pd])\.(\d{1,9})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/;

function mac(secret: string, taskId: string, t: AckTarget): Buffer {
  return createHmac('sha256', secret).update(`receiver-ack\n${taskId}\n${t.target}\n${t.round}\n${t.attempt}`).digest();
}

/** The token of one delivery of a task. */
export function ackToken(secret: string, taskId: string, t: AckTarget): string {
  const code = targetCode[t.target];
  return `${VERSION}.${code}.${t.round}.${t.attempt}.${mac(secret, taskId, t).toString('base64url')}`;
}

/** The delivery a token was issued for, or undefined when it was not issued for this task under this secret. */
export function readAckToken(secret: string, taskId: string, token: string): AckTarget | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const t: AckTarget = { target: m[1] === 'p' ? 'primary' : 'dead_letter', round: Number(m[2]), attempt: Number(m[3]) };
  const given = Buffer.from(m[4]!, 'base64url');
  const expected = mac(secret, taskId, t);
  return given.length === expected.length && timingSafeEqual(given, expected) ? t : undefined;
}

/** Where the receiver acks and nacks a task's delivery: `<base>/tasks/<id>/ack` and `/nack`. */
export function ackUrls(baseUrl: string, taskId: string): { ack: string; nack: string } {
  const task = `${baseUrl}/tasks/${encodeURIComponent(taskId)}`;
  return { ack: `${task}/ack`, nack: `${task}/nack` };
}

/** The X-Ack-Url, X-Nack-Url and X-Ack-Token headers of one delivery. */
export function ackHeaders(
  ack: { secret: string; baseUrl: string },
  taskId: string,
  t: AckTarget,
): Record<(typeof AckHeader)[keyof typeof AckHeader], string> {
  const urls = ackUrls(ack.baseUrl, taskId);
  return {
    [AckHeader.Url]: urls.ack,
    [AckHeader.NackUrl]: urls.nack,
    [AckHeader.Token]: ackToken(ack.secret, taskId, t),
  };
}
