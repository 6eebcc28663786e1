import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSpec, sealSpec } from './sealed-specs';
import { createSecretBox, isSealed, keyId, type Sealed, SecretUnreadableError } from './secret-box';

const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
const idOf = (key: string) => keyId(Buffer.from(key, 'base64'));

describe('secret box', () => {
  it('seals with the current key (AES-256-GCM, a fresh IV each time) and opens in the same place only', () => {
    const box = createSecretBox({ current: A });
    const one = box.seal('whsec_abc', 'sub a signature.secret');
    const two = box.seal('whsec_abc', 'sub a signature.secret');
    expect(one.$sealed).toMatch(new RegExp(`^v1:${idOf(A)}:[A-Za-z0-9+/]+=*$`));
    expect(one.$sealed).not.toBe(two.$sealed);
    expect(one.$sealed).not.toContain('whsec_abc');
    expect(box.open(one, 'sub a signature.secret')).toBe('whsec_abc');
    expect(() => box.open(one, 'sub a headers.X-Leak')).toThrow(SecretUnreadableError);
    expect(box.isCurrent(one)).toBe(true);
  });

  it('opens with previous keys, writes with the current one, and says which key is missing', () => {
    const old = createSecretBox({ current: A }).seal('s3cret', 'ctx');
    const rotated = createSecretBox({ current: B, previous: [A] });
    expect(rotated.open(old, 'ctx')).toBe('s3cret');
    expect(rotated.isCurrent(old)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('s3cret', 'ctx'))).toBe(true);

    expect(() => createSecretBox({ current: B }).open(old, 'ctx')).toThrow(
      `a stored secret was encrypted with key ${idOf(A)}, which is neither storage.encryption_key nor in storage.previous_encryption_keys`,
    );
    expect(() => createSecretBox({}).open(old, 'ctx')).toThrow(/but storage.encryption_key is not set/);
    const decryptOnly = createSecretBox({ previous: [A] });
    expect(decryptOnly.sealing).toBe(false);
    expect(decryptOnly.open(old, 'ctx')).toBe('s3cret');
  });

  it('refuses a value that was altered', () => {
    const box = createSecretBox({ current: A });
    const sealed = box.seal('s3cret', 'ctx');
    const [v, id, data] = sealed.$sealed.split(':');
    const bytes = Buffer.from(data!, 'base64');
    bytes[14]! ^= 1;
    const altered: Sealed = { $sealed: `${v}:${id}:${bytes.toString('base64')}` };
    expect(() => box.open(altered, 'ctx')).toThrow(/does not decrypt with that key/);
    expect(() => box.open({ $sealed: 'v9:x:y' }, 'ctx')).toThrow(/unknown format/);
  });
});

describe('sealed subscription specs', () => {
  const spec = {
    id: 'sub_1',
    url: 'https://x.example',
    signature: {
      scheme: 'standard-webhooks',
      secret: 'whsec_current',
      previous_secrets: [{ secret: 'whsec_old', expires: '2030-01-01T00:00:00Z' }],
    },
    headers: { 'X-Api-Key': 'key-123', 'X-Env': 'prod' },
  };

  it('seals the signing secret, every previous secret and every header value, and nothing else', () => {
    const sealed = sealSpec(createSecretBox({ current: A }), 'sub_1', spec);
    const text = JSON.stringify(sealed);
    for (const plain of ['whsec_current', 'whsec_old', 'key-123', 'prod']) expect(text).not.toContain(plain);
    expect(sealed).toMatchObject({ id: 'sub_1', url: 'https://x.example', signature: { scheme: 'standard-webhooks' } });
    const signature = sealed.signature as { secret: unknown; previous_secrets: { secret: unknown; expires: string }[] };
    expect(isSealed(signature.secret)).toBe(true);
    expect(signature.previous_secrets[0]).toEqual({
      secret: expect.objectContaining({ $sealed: expect.any(String) }),
      expires: '2030-01-01T00:00:00Z',
    });
    expect(openSpec(createSecretBox({ current: A }), 'sub_1', sealed)).toEqual({ spec, stale: false });
  });

  it('reads specs stored in clear, and tells which need rewriting', () => {
    expect(openSpec(createSecretBox({ current: A }), 'sub_1', spec)).toEqual({ spec, stale: true });
    expect(openSpec(createSecretBox({}), 'sub_1', spec)).toEqual({ spec, stale: false });
    const sealedWithA = sealSpec(createSecretBox({ current: A }), 'sub_1', spec);
    expect(openSpec(createSecretBox({ current: B, previous: [A] }), 'sub_1', sealedWithA)).toEqual({ spec, stale: true });
    expect(openSpec(createSecretBox({ previous: [A] }), 'sub_1', sealedWithA)).toEqual({ spec, stale: true });
    expect(sealSpec(createSecretBox({}), 'sub_1', spec)).toBe(spec);
  });

  it('binds each value to its subscription: a sealed spec copied to another id does not open', () => {
    const box = createSecretBox({ current: A });
    expect(() => openSpec(box, 'sub_2', sealSpec(box, 'sub_1', spec))).toThrow(SecretUnreadableError);
  });
});
