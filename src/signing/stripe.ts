import { createHmac, randomBytes } from 'node:crypto';
import type { SignInput } from './types';

/**
 * Stripe's `stripe-signature: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=…]`,
 * one v1 per secret; `t` is the `webhook-timestamp`. The whole secret, `whsec_` included, is the
 * UTF-8 HMAC key, as Stripe's libraries use it. Verifies with `stripe.webhooks.constructEvent`.
 */
export function signStripe(input: SignInput): Record<string, string> {
  const content = `${input.timestamp}.${input.body}`;
  const parts = input.secrets.map((secret) => `v1=${createHmac('sha256', secret).update(content).digest('hex')}`);
  return { 'stripe-signature': [`t=${input.timestamp}`, ...parts].join(',') };
}

/** A fresh Stripe-style secret: `whsec_` and 32 random bytes as hex, used as a plain string key. */
export function generateStripeSecret(): string {
  return `whsec_${randomBytes(32).toString('hex')}`;
}
