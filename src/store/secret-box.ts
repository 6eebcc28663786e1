import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// AES-256-GCM for secrets at rest (SPEC 13). A sealed value is a JSON object, never a string, so
// a value stored in clear can never be mistaken for a sealed one, and a sealed value that could not
// be opened fails every schema that expects the secret (it is never sent as if it were the secret).

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A value sealed by a SecretBox: `{"$sealed": "v1:<key id>:<base64 of iv | ciphertext | tag>"}`. */
export interface Sealed {
  $sealed: string;
}

/** Thrown when a sealed value cannot be opened; `message` says why, for people. Code SECRET_UNREADABLE. */
export class SecretUnreadableError extends Error {
  readonly code = 'SECRET_UNREADABLE';
}

/** Keys as the config gives them (`storage.encryption_key`, `storage.previous_encryption_keys`): base64 of 32 bytes each. */
export interface SecretKeys {
  current?: string | undefined;
  previous?: readonly string[] | undefined;
}

/** Seals and opens secrets with the configured keys. */
export interface SecretBox {
  /** true when a current key is set: what is written is sealed; false: written in clear. */
  readonly sealing: boolean;
  /** Seals `plain` with the current key, bound to `context` (AAD: a sealed value only opens in its own place). */
  seal(plain: string, context: string): Sealed;
  /** The plain value; throws SecretUnreadableError for an unknown key or a value that does not authenticate. */
  open(sealed: Sealed, context: string): string;
  /** Whether `sealed` was sealed with the current key (false: a rewrite would re-seal it). */
  isCurrent(sealed: Sealed): boolean;
}

/** Whether a stored value is a sealed one. */
export function isSealed(value: unknown): value is Sealed {
  return typeof value === 'object' && value !== null && typeof (value as Sealed).$sealed === 'string';
}

/** A short, stable name of a key (not secret: a hash), stored with each value so opening picks the right key. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('hookrelay secret-box key id\0').update(key).digest('hex').slice(0, 8);
}

/** A box over the given keys; with no current key it writes in clear and still opens what the previous keys sealed. */
export function createSecretBox(keys: SecretKeys): SecretBox {
  const current = keys.current === undefined ? undefined : decodeKey(keys.current);
  const byId = new Map<string, Buffer[]>();
  for (const key of [...(current ? [current] : []), ...(keys.previous ?? []).map(decodeKey)]) {
    const id = keyId(key);
    byId.set(id, [...(byId.get(id) ?? []), key]);
  }
  const currentId = current && keyId(current);

  return {
    sealing: current !== undefined,
    seal(plain, context) {
      if (!current) throw new Error('no storage.encryption_key to seal with');
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return { $sealed: `${VERSION}:${currentId}:${body.toString('base64')}` };
    },
    open(sealed, context) {
      const [version, id, data, ...rest] = sealed.$sealed.split(':');
      if (version !== VERSION || id === undefined || data === undefined || rest.length > 0) {
        throw new SecretUnreadableError(`a stored secret has an unknown format (${String(version)})`);
      }
      const candidates = byId.get(id);
      if (!candidates) throw new SecretUnreadableError(missingKeyMessage(id, current !== undefined));
      const body = Buffer.from(data, 'base64');
      for (const key of candidates) {
        const plain = tryOpen(key, body, context);
        if (plain !== undefined) return plain;
      }
      throw new SecretUnreadableError(
        `a stored secret sealed with key ${id} does not decrypt with that key: it was altered, or copied from another subscription`,
      );
    },
    isCurrent: (sealed) => currentId !== undefined && sealed.$sealed.startsWith(`${VERSION}:${currentId}:`),
  };
}

function missingKeyMessage(id: string, haveCurrent: boolean): string {
  return haveCurrent
    ? `a stored secret was encrypted with key ${id}, which is neither storage.encryption_key nor in storage.previous_encryption_keys`
    : `a stored secret was encrypted with key ${id}, but storage.encryption_key is not set (nor that key in storage.previous_encryption_keys)`;
}

function tryOpen(key: Buffer, body: Buffer, context: string): string | undefined {
  if (body.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function decodeKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  // The config schema checks this too; a key of another length would make AES-256 throw later.
  if (key.length !== 32) throw new Error('an encryption key must be base64 of exactly 32 bytes');
  return key;
}
