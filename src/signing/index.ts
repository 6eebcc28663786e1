import { createEd25519Signer, generateEd25519Secret } from './ed25519';
import { signGithub } from './github';
import { createHmacSha256Signer, generateHmacSecret } from './hmac-sha256';
import { generateStandardWebhooksSecret, signStandardWebhooks } from './standard-webhooks';
import { generateStripeSecret, signStripe } from './stripe';
import type { SignatureOptions, Signer } from './types';

export type { DigestEncoding, SignatureOptions, SignatureScheme, SignInput, Signer } from './types';
export { ed25519PublicKey } from './ed25519';

/**
 * The signer for `signature` (a subscription's `signature` block), with its per-scheme options
 * (hmac-sha256 header, encoding, prefix) bound once; throws only for input config validation rejects.
 */
export function createSigner(signature: SignatureOptions): Signer {
  switch (signature.scheme) {
    case 'standard-webhooks':
      return signStandardWebhooks;
    case 'ed25519':
      return createEd25519Signer();
    case 'stripe':
      return signStripe;
    case 'github':
      return signGithub;
    case 'hmac-sha256': {
      if (!signature.header) throw new Error('signature.header is required for scheme hmac-sha256');
      return createHmacSha256Signer({ header: signature.header, encoding: signature.encoding, prefix: signature.prefix });
    }
    case 'none':
      return () => ({});
  }
}

/** `gen-secret --scheme` names and their generators; every result passes config validation for its scheme. */
export const SECRET_GENERATORS: Record<string, () => string> = {
  'standard-webhooks': generateStandardWebhooksSecret,
  ed25519: generateEd25519Secret,
  // hmac-sha256 and github use any string as the key; hmac is the short name the CLI has always had.
  hmac: generateHmacSecret,
  'hmac-sha256': generateHmacSecret,
  github: generateHmacSecret,
  stripe: generateStripeSecret,
};
