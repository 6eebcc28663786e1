import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { SignInput, Signer } from './types';

// Standard Webhooks asymmetric scheme. The spec only says "base64, prefixed whsk_/whpk_"; its
// reference server (svix) stores the 64-byte libsodium secret key, seed || public key, so that is
// what `gen-secret` writes. A bare 32-byte seed (what most other libraries export) is accepted too:
// the public half is derived from it either way, and a 64-byte key whose halves disagree is refused
// rather than silently signing with a key the receiver does not trust.

const SECRET_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// PKCS#8 DER header for an Ed25519 private key; node:crypto has no raw-seed import, the seed follows it.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The raw 32-byte public key of a private key. */
function rawPublicKey(privateKey: KeyObject): Buffer {
  // SPKI DER of Ed25519 is a fixed 12-byte header followed by the 32 key bytes.
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
}

/** Why `secret` is not a usable `whsk_` secret, or null when it is. */
export function ed25519SecretProblem(secret: string): string | null {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : null;
  const bytes = body !== null && BASE64.test(body) ? Buffer.from(body, 'base64') : null;
  if (!bytes || (bytes.length !== 32 && bytes.length !== 64)) {
    return `an ed25519 secret must be 'whsk_' followed by base64 of a 64-byte secret key (seed + public key) or a 32-byte seed`;
  }
  if (bytes.length === 64 && !rawPublicKey(privateKeyFromSeed(bytes.subarray(0, 32))).equals(bytes.subarray(32))) {
    return 'the public half of this ed25519 secret does not match its seed';
  }
  return null;
}

function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The private key inside a `whsk_` secret; throws on a malformed one (config validation prevents this). */
export function ed25519PrivateKey(secret: string): KeyObject {
  const problem = ed25519SecretProblem(secret);
  if (problem) throw new Error(problem);
  return privateKeyFromSeed(Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64').subarray(0, 32));
}

/** The `whpk_<base64 of 32 bytes>` public key receivers verify with; shown by the admin API. */
export function ed25519PublicKey(secret: string): string {
  return PUBLIC_PREFIX + rawPublicKey(ed25519PrivateKey(secret)).toString('base64');
}

/**
 * Standard Webhooks v1a: `webhook-signature: v1a,<base64 ed25519 signature of id.timestamp.body>`,
 * space-separated when several secrets sign (rotation).
 */
export function createEd25519Signer(): Signer {
  // Parsing a key costs more than signing with it; the set of secrets is the subscription's, so small.
  const keys = new Map<string, KeyObject>();
  const keyFor = (secret: string) => {
    let key = keys.get(secret);
    if (!key) keys.set(secret, (key = ed25519PrivateKey(secret)));
    return key;
  };
  return (input: SignInput) => {
    const content = Buffer.from(`${input.msgId}.${input.timestamp}.${input.body}`);
    const signatures = input.secrets.map((secret) => `v1a,${sign(null, content, keyFor(secret)).toString('base64')}`);
    return { 'webhook-signature': signatures.join(' ') };
  };
}

/** A fresh `whsk_` secret: base64 of the 64-byte secret key (seed || public key), as svix stores it. */
export function generateEd25519Secret(): string {
  const seed = randomBytes(32);
  return SECRET_PREFIX + Buffer.concat([seed, rawPublicKey(privateKeyFromSeed(seed))]).toString('base64');
}
