import { createHmac, randomBytes } from 'node:crypto';
import type { SignInput } from './types';

const PREFIX = 'whsec_';

/** The HMAC key inside a `whsec_<base64>` secret. */
export function standardWebhooksKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/**
 * Standard Webhooks v1: `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`,
 * space-separated when several secrets sign (rotation). Verifies with `standardwebhooks` and `svix`.
 */
export function signStandardWebhooks(input: SignInput): Record<string, string> {
  const content = `${input.msgId}.${input.timestamp}.${input.body}`;
  const signatures = input.secrets.map(
    (secret) => `v1,${createHmac('sha256', standardWebhooksKey(secret)).update(content).digest('base64')}`,
  );
  return { 'webhook-signature': signatures.join(' ') };
}

/** A fresh `whsec_` secret of 32 random bytes. */
export function generateStandardWebhooksSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}
