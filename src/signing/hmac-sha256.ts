import { createHmac, randomBytes } from 'node:crypto';
import type { DigestEncoding, SignInput, Signer } from './types';

/** Where and how a plain HMAC-SHA256 of the body is sent. */
export interface HmacSha256Options {
  /** Header name, e.g. `X-PayLinkr-Signature`. */
  header: string;
  /** Digest encoding; hex for most receivers. */
  encoding: DigestEncoding;
  /** Text before the digest, e.g. `sha256=`; may be empty. */
  prefix: string;
}

/**
 * `<header>: <prefix><digest>`, digest = HMAC-SHA256(secret as UTF-8 bytes, body). Several secrets
 * (rotation) are joined by ", ", which is what HTTP makes of a repeated header; a receiver that
 * verifies during rotation splits on ", " and accepts any match.
 */
export function createHmacSha256Signer(opts: HmacSha256Options): Signer {
  return (input: SignInput) => {
    const signatures = input.secrets.map((secret) => opts.prefix + createHmac('sha256', secret).update(input.body).digest(opts.encoding));
    return { [opts.header]: signatures.join(', ') };
  };
}

/** A fresh plain HMAC key: 32 random bytes as 64 hex characters (used as a string, not decoded). */
export function generateHmacSecret(): string {
  return randomBytes(32).toString('hex');
}
