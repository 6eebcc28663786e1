import { randomBytes } from 'node:crypto';
import { generateStandardWebhooksSecret, signStandardWebhooks } from './standard-webhooks';
import type { Signer } from './types';

export type { SignInput, Signer } from './types';

/** Schemes the relay can sign with today; config validation rejects the others until they exist. */
export const SIGNERS = {
  'standard-webhooks': signStandardWebhooks,
  none: () => ({}),
} satisfies Record<string, Signer>;

export type SchemeName = keyof typeof SIGNERS;

/** The signer for a scheme; throws for a scheme that is not built (config validation prevents this). */
export function signerFor(scheme: string): Signer {
  const signer = (SIGNERS as Record<string, Signer>)[scheme];
  if (!signer) throw new Error(`signature scheme '${scheme}' is not supported`);
  return signer;
}

/** Schemes `gen-secret` can make a secret for. */
export const SECRET_GENERATORS: Record<string, () => string> = {
  'standard-webhooks': generateStandardWebhooksSecret,
  hmac: () => randomBytes(32).toString('hex'),
};
