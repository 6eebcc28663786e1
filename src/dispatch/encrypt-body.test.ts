import { createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encryptBody, encryptionKey } from './encrypt-body';

/** The receiver side, exactly as the README shows it. */
function decrypt(body: string, secret: string): string {
  const { encrypted } = JSON.parse(body) as { encrypted: string };
  const raw = Buffer.from(encrypted, 'base64');
  const key = encryptionKey(secret);
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
}

const event = { id: 'evt_1', type: 'payment.completed', timestamp: '2026-11-23T10:00:00.000Z' };

describe('encryptBody', () => {
  it('keeps id, type and timestamp in clear and decrypts to the exact plaintext', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ minLength: 1 }), (plaintext, secret) => {
        const body = encryptBody(plaintext, encryptionKey(secret), event);
        expect(JSON.parse(body)).toMatchObject(event);
        expect(decrypt(body, secret)).toBe(plaintext);
      }),
    );
  });

  it('uses a fresh IV each time and fails to decrypt with another secret or a changed byte', () => {
    const key = encryptionKey('whsec_a');
    const a = encryptBody('{"x":1}', key, event);
    const b = encryptBody('{"x":1}', key, event);
    expect(a).not.toBe(b);
    expect(() => decrypt(a, 'whsec_b')).toThrow();
    const parsed = JSON.parse(a) as { encrypted: string };
    const raw = Buffer.from(parsed.encrypted, 'base64');
    raw[14] = raw[14]! ^ 1;
    expect(() => decrypt(JSON.stringify({ ...parsed, encrypted: raw.toString('base64') }), 'whsec_a')).toThrow();
  });
});
