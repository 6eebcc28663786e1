/** What a scheme signs: the same for every scheme, so a new scheme is one small module. */
export interface SignInput {
  /** `webhook-id`: the event id. */
  msgId: string;
  /** `webhook-timestamp`: unix seconds of this attempt. */
  timestamp: number;
  /** The exact request body bytes. */
  body: string;
  /** Every secret that signs this request: the current one first, then unexpired previous ones. */
  secrets: string[];
}

/** A signature scheme: turns the input into the headers that carry the signature(s). */
export type Signer = (input: SignInput) => Record<string, string>;

/** The signature schemes there are; `none` sends no signature. */
export type SignatureScheme = 'standard-webhooks' | 'ed25519' | 'stripe' | 'github' | 'hmac-sha256' | 'none';

/** How a digest is written in a header. */
export type DigestEncoding = 'hex' | 'base64';

/**
 * How a subscription's requests are signed: what createSigner binds once. The secrets are not here:
 * they change with rotation and expiry, so each request brings its own (SignInput.secrets). A
 * subscription's validated `signature` config block is assignable to this as it is.
 */
export interface SignatureOptions {
  /** The scheme; each has its own module in src/signing. */
  scheme: SignatureScheme;
  /** hmac-sha256 only, and required for it: the header carrying the signature. */
  header?: string | undefined;
  /** hmac-sha256 only: how the digest is written. */
  encoding: DigestEncoding;
  /** hmac-sha256 only: text before the digest, e.g. `sha256=`; may be empty. */
  prefix: string;
}
