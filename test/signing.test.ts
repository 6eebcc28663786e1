import { createHmac, createPublicKey, generateKeyPairSync, verify as verifyEd25519 } from 'node:crypto';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema';
import { createSigner, ed25519PublicKey, SECRET_GENERATORS, type SignInput, type Signer } from '../src/signing';

// Unit level: every scheme signs with our module and is verified by the library its receivers use.

const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SW_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const now = () => Math.floor(Date.now() / 1000);
const BODY = '{"id":"evt_1","type":"payment.completed","data":{"note":"naïve ☃ 🎉"}}';

/** The parsed `signature` block, so signers are built exactly as the relay builds them. */
function signatureConfig(signature: Record<string, unknown>) {
  const parsed = configSchema.safeParse({ subscriptions: [{ id: 's', url: 'https://example.com/hook', signature }] });
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
  return parsed.data.subscriptions[0]!.signature;
}

const signerOf = (signature: Record<string, unknown>): Signer => createSigner(signatureConfig(signature));

function input(secrets: string[], overrides: Partial<SignInput> = {}): SignInput {
  return { msgId: 'evt_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestamp: now(), body: BODY, secrets, ...overrides };
}

function swHeaders(i: SignInput, headers: Record<string, string>) {
  return { 'webhook-id': i.msgId, 'webhook-timestamp': String(i.timestamp), 'webhook-signature': headers['webhook-signature']! };
}

const stripe = Stripe.webhooks;

/** Verifies each `v1a,` entry of a webhook-signature header against a `whpk_` key; true if one matches. */
function verifiesEd25519(i: SignInput, header: string, publicKey: string): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url') },
    format: 'jwk',
  });
  const content = Buffer.from(`${i.msgId}.${i.timestamp}.${i.body}`);
  return header
    .split(' ')
    .filter((s) => s.startsWith('v1a,'))
    .some((s) => verifyEd25519(null, content, key, Buffer.from(s.slice(4), 'base64')));
}

/** How a receiver of a plain HMAC header checks it: split rotation signatures on ", ", strip the prefix. */
function verifiesHmac(value: string, body: string, secret: string, prefix: string, encoding: 'hex' | 'base64'): boolean {
  const expected = createHmac('sha256', secret).update(body).digest(encoding);
  return value.split(', ').some((s) => s === prefix + expected);
}

describe('createSigner', () => {
  it('standard-webhooks: verifies with standardwebhooks and svix; a wrong secret fails', () => {
    const i = input([SW_SECRET]);
    const headers = signerOf({ scheme: 'standard-webhooks', secret: SW_SECRET })(i);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new StandardWebhook(SW_SECRET).verify(i.body, swHeaders(i, headers))).toEqual(JSON.parse(BODY));
    expect(new SvixWebhook(SW_SECRET).verify(i.body, swHeaders(i, headers))).toEqual(JSON.parse(BODY));
    expect(() => new StandardWebhook(OTHER_SW_SECRET).verify(i.body, swHeaders(i, headers))).toThrow();
    expect(() => new SvixWebhook(OTHER_SW_SECRET).verify(i.body, swHeaders(i, headers))).toThrow();
  });

  it('standard-webhooks: several secrets are space-separated and each verifies', () => {
    const i = input([SW_SECRET, OTHER_SW_SECRET]);
    const headers = signerOf({ scheme: 'standard-webhooks', secret: SW_SECRET })(i);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [SW_SECRET, OTHER_SW_SECRET])
      expect(() => new StandardWebhook(secret).verify(i.body, swHeaders(i, headers))).not.toThrow();
  });

  it('ed25519: v1a signature verifies with node:crypto and the whpk_ key; another key fails', () => {
    const secret = SECRET_GENERATORS.ed25519!();
    const other = SECRET_GENERATORS.ed25519!();
    const i = input([secret]);
    const header = signerOf({ scheme: 'ed25519', secret })(i)['webhook-signature']!;
    expect(header).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(ed25519PublicKey(secret)).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(verifiesEd25519(i, header, ed25519PublicKey(secret))).toBe(true);
    expect(verifiesEd25519(i, header, ed25519PublicKey(other))).toBe(false);
    expect(verifiesEd25519({ ...i, body: `${BODY} ` }, header, ed25519PublicKey(secret))).toBe(false);
  });

  it('ed25519: a 32-byte seed is accepted and signs like the 64-byte key it expands to', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const short = `whsk_${seed.toString('base64')}`;
    const long = `whsk_${Buffer.concat([seed, pub]).toString('base64')}`;
    expect(ed25519PublicKey(short)).toBe(`whpk_${pub.toString('base64')}`);
    expect(ed25519PublicKey(long)).toBe(ed25519PublicKey(short));
    const i = input([short]);
    // Ed25519 is deterministic, so both forms give byte-identical signatures.
    expect(signerOf({ scheme: 'ed25519', secret: short })(i)).toEqual(
      signerOf({ scheme: 'ed25519', secret: long })({ ...i, secrets: [long] }),
    );
  });

  it('ed25519: config rejects a key of the wrong size or whose public half does not match', () => {
    const seed = Buffer.alloc(32, 1);
    const bad = [
      `whsk_${Buffer.alloc(48, 1).toString('base64')}`,
      `whsk_${Buffer.concat([seed, Buffer.alloc(32, 2)]).toString('base64')}`,
      `whsec_${seed.toString('base64')}`,
      'whsk_not base64!',
    ];
    for (const secret of bad) {
      const r = configSchema.safeParse({
        subscriptions: [{ id: 's', url: 'https://example.com/', signature: { scheme: 'ed25519', secret } }],
      });
      expect(r.success, secret).toBe(false);
    }
  });

  it('stripe: verifies with stripe.webhooks.constructEvent; a wrong secret fails', () => {
    const secret = 'whsec_test_abc';
    const i = input([secret]);
    const header = signerOf({ scheme: 'stripe', secret })(i)['stripe-signature']!;
    expect(header).toMatch(new RegExp(`^t=${i.timestamp},v1=[0-9a-f]{64}$`));
    expect(stripe.constructEvent(i.body, header, secret)).toEqual(JSON.parse(BODY));
    expect(() => stripe.constructEvent(i.body, header, 'whsec_other')).toThrow(/No signatures found/);
  });

  it('stripe: one v1 per secret, each verifies with its own secret', () => {
    const i = input(['whsec_current', 'whsec_previous']);
    const header = signerOf({ scheme: 'stripe', secret: 'whsec_current' })(i)['stripe-signature']!;
    expect(header.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    for (const secret of i.secrets) expect(() => stripe.constructEvent(i.body, header, secret)).not.toThrow();
  });

  it('github: verifies with @octokit/webhooks-methods; a wrong secret fails', async () => {
    const i = input(['It is a secret']);
    const header = signerOf({ scheme: 'github', secret: 'It is a secret' })(i)['x-hub-signature-256']!;
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await octokitVerify('It is a secret', i.body, header)).toBe(true);
    expect(await octokitVerify('another', i.body, header)).toBe(false);
  });

  it('github: several secrets are joined by ", " and each part verifies', async () => {
    const i = input(['current', 'previous']);
    const header = signerOf({ scheme: 'github', secret: 'current' })(i)['x-hub-signature-256']!;
    const parts = header.split(', ');
    expect(parts).toHaveLength(2);
    expect(await octokitVerify('current', i.body, parts[0]!)).toBe(true);
    expect(await octokitVerify('previous', i.body, parts[1]!)).toBe(true);
  });

  it.each([
    { header: 'X-PayLinkr-Signature', encoding: 'hex', prefix: 'sha256=', pattern: /^sha256=[0-9a-f]{64}$/ },
    { header: 'linka-signature', encoding: 'hex', prefix: '', pattern: /^[0-9a-f]{64}$/ },
    { header: 'X-Webhook-Signature', encoding: 'base64', prefix: '', pattern: /^[A-Za-z0-9+/]{43}=$/ },
  ] as const)('hmac-sha256: $header ($encoding, prefix "$prefix") verifies with a plain HMAC', ({ header, encoding, prefix, pattern }) => {
    const secret = 'pl_secret_123';
    const i = input([secret, 'older']);
    const headers = signerOf({ scheme: 'hmac-sha256', secret, header, encoding, prefix })(i);
    expect(Object.keys(headers)).toEqual([header]);
    const [first, second] = headers[header]!.split(', ');
    expect(first).toMatch(pattern);
    expect(second).toMatch(pattern);
    expect(verifiesHmac(first!, i.body, secret, prefix, encoding)).toBe(true);
    expect(verifiesHmac(second!, i.body, 'older', prefix, encoding)).toBe(true);
    expect(verifiesHmac(headers[header]!, i.body, 'wrong', prefix, encoding)).toBe(false);
  });

  it('none: sends no signature header', () => {
    expect(signerOf({ scheme: 'none' })(input([]))).toEqual({});
  });
});

describe('signing properties', () => {
  // JSON bodies, since standardwebhooks, svix and stripe parse the payload after verifying it; the
  // relay only ever sends JSON. Unicode (lone surrogates escaped by JSON), empty values and large ones.
  const jsonBody = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)),
    fc.constantFrom('""', '{}', '[]', 'null'),
    fc
      .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.integer({ min: 10_000, max: 300_000 }))
      .map(([s, n]) => JSON.stringify({ big: s.repeat(Math.ceil(n / s.length)) })),
  );
  // Raw bodies for the schemes whose verifiers do not parse: anything, even empty.
  const rawBody = fc.oneof(fc.string({ unit: 'grapheme' }), fc.constant(''), jsonBody);
  const msgId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
  const swSecret = fc.uint8Array({ minLength: 24, maxLength: 64 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`);
  const plainSecret = fc.string({ minLength: 1, maxLength: 64 }).filter((s) => s.trim() === s && s.length > 0);

  it('standard-webhooks always verifies with standardwebhooks and svix', () => {
    // Both libraries reject timestamps more than 5 minutes from now.
    const recent = fc.integer({ min: -240, max: 240 }).map((d) => now() + d);
    fc.assert(
      fc.property(jsonBody, msgId, recent, swSecret, (body, id, timestamp, secret) => {
        const i: SignInput = { msgId: id, timestamp, body, secrets: [secret] };
        const headers = swHeaders(i, signerOf({ scheme: 'standard-webhooks', secret })(i));
        new StandardWebhook(secret).verify(body, headers);
        new SvixWebhook(secret).verify(body, headers);
      }),
      { numRuns: 150 },
    );
  });

  it('stripe always verifies with constructEvent', () => {
    const anyTime = fc.integer({ min: 1, max: 2 ** 32 });
    fc.assert(
      fc.property(jsonBody, msgId, anyTime, plainSecret, fc.integer({ min: 0, max: 299 }), (body, id, t, secret, age) => {
        const i: SignInput = { msgId: id, timestamp: t, body, secrets: [secret] };
        const header = signerOf({ scheme: 'stripe', secret })(i)['stripe-signature']!;
        // receivedAt (ms) places "now" just after t, so the default 300 s tolerance is exercised.
        stripe.constructEvent(body, header, secret, 300, undefined, (t + age) * 1000);
      }),
      { numRuns: 150 },
    );
  });

  it('github always verifies with octokit', async () => {
    await fc.assert(
      // octokit refuses an empty payload outright; the relay never sends one (bodies are JSON).
      fc.asyncProperty(
        rawBody.filter((b) => b !== ''),
        msgId,
        fc.integer({ min: 0, max: 2 ** 32 }),
        plainSecret,
        async (body, id, t, secret) => {
          const i: SignInput = { msgId: id, timestamp: t, body, secrets: [secret] };
          const header = signerOf({ scheme: 'github', secret })(i)['x-hub-signature-256']!;
          expect(await octokitVerify(secret, body, header)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('ed25519 always verifies with node:crypto', () => {
    const secret = SECRET_GENERATORS.ed25519!();
    const signer = signerOf({ scheme: 'ed25519', secret });
    fc.assert(
      fc.property(rawBody, msgId, fc.integer({ min: 0, max: 2 ** 32 }), (body, id, t) => {
        const i: SignInput = { msgId: id, timestamp: t, body, secrets: [secret] };
        expect(verifiesEd25519(i, signer(i)['webhook-signature']!, ed25519PublicKey(secret))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('gen-secret generators', () => {
  // CLI name -> config scheme it is for.
  const cases = [
    ['standard-webhooks', 'standard-webhooks'],
    ['ed25519', 'ed25519'],
    ['hmac', 'hmac-sha256'],
    ['hmac-sha256', 'hmac-sha256'],
    ['stripe', 'stripe'],
    ['github', 'github'],
  ] as const;

  it('covers every scheme the CLI documents', () => {
    expect(Object.keys(SECRET_GENERATORS).sort()).toEqual(cases.map(([name]) => name).sort());
  });

  it.each(cases)('%s: a fresh secret passes config validation and signs something that verifies', async (name, scheme) => {
    const secret = SECRET_GENERATORS[name]!();
    const extra = scheme === 'hmac-sha256' ? { header: 'X-Signature' } : {};
    const parsed = configSchema.safeParse({
      subscriptions: [{ id: 's', url: 'https://example.com/', signature: { scheme, secret, ...extra } }],
    });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(SECRET_GENERATORS[name]!()).not.toBe(secret);

    const i = input([secret]);
    const headers = signerOf({ scheme, secret, ...extra })(i);
    if (scheme === 'standard-webhooks') new StandardWebhook(secret).verify(i.body, swHeaders(i, headers));
    if (scheme === 'ed25519') expect(verifiesEd25519(i, headers['webhook-signature']!, ed25519PublicKey(secret))).toBe(true);
    if (scheme === 'stripe') {
      expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
      stripe.constructEvent(i.body, headers['stripe-signature']!, secret);
    }
    if (scheme === 'github') expect(await octokitVerify(secret, i.body, headers['x-hub-signature-256']!)).toBe(true);
    if (scheme === 'hmac-sha256') expect(verifiesHmac(headers['X-Signature']!, i.body, secret, '', 'hex')).toBe(true);
  });
});
