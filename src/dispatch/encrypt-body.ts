import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/** AES-256-GCM key of a subscription: SHA-256 of its current secret, as the UTF-8 string configured. */
export function encryptionKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * SPEC 5 `encrypt: true`: `{"id","type","timestamp","encrypted"}` where `encrypted` is base64 of
 * 12-byte IV | ciphertext | 16-byte tag and the plaintext is the body that would otherwise be sent.
 * A fresh random IV every time: GCM must never reuse an IV under one key.
 */
export function encryptBody(plaintext: string, key: Buffer, event: { id: string; type: string; timestamp: string }): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.timestamp, encrypted: sealed.toString('base64') });
}
