import { Webhook } from 'standardwebhooks';
import { ConfigError } from '../platform/config';

/** Thrown when a destination names a signing secret the worker does not have (a permanent failure). */
export class UnknownSecretError extends Error {
  constructor(public readonly ref: string) {
    super(`signing secret "${ref}" is not configured on the worker (WEBHOOK_SECRETS)`);
    this.name = 'UnknownSecretError';
  }
}

/** The Standard Webhooks headers of one signed delivery. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  /** Unix seconds. */
  'webhook-timestamp': string;
  /** `v1,<base64>` per secret, space-separated (several during a rotation). */
  'webhook-signature': string;
}

/** Signs payloads per the Standard Webhooks spec with the named secrets of WEBHOOK_SECRETS. */
export interface WebhookSigner {
  has(ref: string): boolean;
  /**
   * @param ref name of a WEBHOOK_SECRETS entry
   * @param messageId `webhook-id`: the same for every attempt of one message
   * @throws UnknownSecretError when `ref` is not configured
   */
  sign(ref: string, messageId: string, payload: string, at?: Date): WebhookSignatureHeaders;
}

/**
 * Builds the signer once at start. Secrets are `whsec_<base64>` (or bare base64), as the spec and the
 * `standardwebhooks` library expect; each entry may list several secrets, all of which sign (key rotation).
 * @throws ConfigError naming WEBHOOK_SECRETS and the entry when a secret is not valid base64.
 */
export function createWebhookSigner(secrets: Record<string, readonly string[]>): WebhookSigner {
  const keys = new Map<string, Webhook[]>();
  for (const [ref, list] of Object.entries(secrets)) {
    keys.set(
      ref,
      list.map((secret, i) => {
        try {
          return new Webhook(secret);
        } catch (err) {
          throw new ConfigError([
            {
              variable: 'WEBHOOK_SECRETS',
              message: `secret ${i + 1} of "${ref}" is not a whsec_<base64> secret (${(err as Error).message})`,
            },
          ]);
        }
      }),
    );
  }
  return {
    has: (ref) => keys.has(ref),
    sign(ref, messageId, payload, at = new Date()) {
      const webhooks = keys.get(ref);
      if (!webhooks) throw new UnknownSecretError(ref);
      return {
        'webhook-id': messageId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': webhooks.map((w) => w.sign(messageId, at, payload)).join(' '),
      };
    },
  };
}
