import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../../kernel/errors.ts';
import { epochSeconds } from '../../kernel/clock.ts';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a message carries
 * `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated
 * list of `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret, so a
 * receiver holding either the new or the previous secret during a rotation verifies it.
 */

const PREFIX = 'whsec_';
/** The specification allows 24 to 64 bytes; new secrets get 32. */
const SECRET_BYTES = 32;

/** A new signing secret, `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** Checks a secret an operator supplies (import file, CLI); refuses anything else with a field error. */
export function assertSigningSecret(secret: string, field = '/secret'): void {
  const key = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret)?.[1];
  const length = key ? Buffer.from(key, 'base64').length : 0;
  if (length < 24 || length > 64) {
    throw new AppError('validation_failed', 'A signing secret is whsec_ followed by 24 to 64 bytes in base64', { fields: [{ field, message: 'must be whsec_ followed by 24 to 64 bytes in base64' }] });
  }
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/** `v1,<signature>` of one message under one secret. */
export function signatureOf(secret: string, messageId: string, timestamp: Date, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${messageId}.${epochSeconds(timestamp)}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one attempt: signed at `timestamp` with every secret given (current first). */
export function webhookHeaders(secrets: readonly string[], messageId: string, timestamp: Date, body: string): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(epochSeconds(timestamp)),
    'webhook-signature': secrets.map((secret) => signatureOf(secret, messageId, timestamp, body)).join(' '),
  };
}
