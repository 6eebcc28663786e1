import { createHmac, createPublicKey, verify as verifyEd25519 } from 'node:crypto';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, SECRET_GENERATORS } from '../src/signing';
import { startReceiver, type Received, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

// End to end: ingest -> dispatch -> a real receiver, which checks each request with the library a
// user of that scheme would use, for every active secret of a rotation.

/** One scheme as a receiver sees it. */
interface SchemeCase {
  name: string;
  /** The `signature` block without its secrets. */
  signature: Record<string, unknown>;
  /** Three distinct secrets: current, previous (still valid), previous (expired). */
  secrets: () => [string, string, string];
  /** The individual signatures the request carries. */
  signatures: (req: Received) => string[];
  /** Whether the receiver-side library accepts the request for this secret. */
  verifies: (req: Received, secret: string) => Promise<boolean>;
}

const accepts = (check: () => unknown) => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};
const three = (make: () => string) => (): [string, string, string] => [make(), make(), make()];
const plainSecrets = (): [string, string, string] => ['current-secret', 'previous-secret', 'expired-secret'];

function ed25519Verifies(req: Received, secret: string): boolean {
  const x = Buffer.from(ed25519PublicKey(secret).slice('whpk_'.length), 'base64').toString('base64url');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  const content = Buffer.from(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`);
  return req.headers['webhook-signature']!.split(' ').some(
    (s) => s.startsWith('v1a,') && verifyEd25519(null, content, key, Buffer.from(s.slice(4), 'base64')),
  );
}

function hmacCase(header: string, encoding: 'hex' | 'base64', prefix: string): SchemeCase {
  const name = header.toLowerCase();
  return {
    name: `hmac-sha256 ${header}`,
    signature: { scheme: 'hmac-sha256', header, encoding, prefix },
    secrets: plainSecrets,
    signatures: (req) => req.headers[name]!.split(', '),
    verifies: async (req, secret) =>
      req.headers[name]!.split(', ').includes(prefix + createHmac('sha256', secret).update(req.body).digest(encoding)),
  };
}

const CASES: SchemeCase[] = [
  {
    name: 'standard-webhooks',
    signature: { scheme: 'standard-webhooks' },
    secrets: () => [TEST_SECRET, SECRET_GENERATORS['standard-webhooks']!(), SECRET_GENERATORS['standard-webhooks']!()],
    signatures: (req) => req.headers['webhook-signature']!.split(' '),
    verifies: async (req, secret) =>
      accepts(() => new StandardWebhook(secret).verify(req.body, req.headers)) &&
      accepts(() => new SvixWebhook(secret).verify(req.body, req.headers)),
  },
  {
    name: 'ed25519',
    signature: { scheme: 'ed25519' },
    secrets: three(SECRET_GENERATORS.ed25519!),
    signatures: (req) => req.headers['webhook-signature']!.split(' '),
    verifies: async (req, secret) => ed25519Verifies(req, secret),
  },
  {
    name: 'stripe',
    signature: { scheme: 'stripe' },
    secrets: three(SECRET_GENERATORS.stripe!),
    signatures: (req) => req.headers['stripe-signature']!.split(',').filter((p) => p.startsWith('v1=')),
    verifies: async (req, secret) => accepts(() => Stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature']!, secret)),
  },
  {
    name: 'github',
    signature: { scheme: 'github' },
    secrets: plainSecrets,
    signatures: (req) => req.headers['x-hub-signature-256']!.split(', '),
    // A receiver verifying during rotation splits on ", " and tries octokit on each part.
    verifies: async (req, secret) => {
      for (const part of req.headers['x-hub-signature-256']!.split(', ')) if (await octokitVerify(secret, req.body, part)) return true;
      return false;
    },
  },
  hmacCase('X-PayLinkr-Signature', 'hex', 'sha256='),
  hmacCase('linka-signature', 'hex', ''),
  hmacCase('X-Webhook-Signature', 'base64', ''),
];

describe.each(CASES.map((c) => [c.name, c] as const))('%s end to end', (_name, c) => {
  const [current, previous, expired] = c.secrets();
  let relay: RunningRelay;
  let rx: Receiver;
  const at = (path: string) => rx.received.find((r) => r.path === path)!;

  beforeAll(async () => {
    rx = await startReceiver();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 60_000).toISOString();
    const sub = (id: string, previous_secrets: { secret: string; expires: string }[]) => ({
      id,
      url: `${rx.url}/${id}`,
      signature: { ...c.signature, secret: current, previous_secrets },
    });
    relay = await startRelay(
      testConfig({
        subscriptions: [
          sub('plain', []),
          sub('rotating', [
            { secret: previous, expires: future },
            { secret: expired, expires: past },
          ]),
          sub('expired', [{ secret: expired, expires: past }]),
        ],
      }),
    );
    const res = await relay.post('/ingest', { type: 'payment.completed', data: { id: 'pay_1', note: 'naïve ☃ 🎉' } });
    expect(res.status).toBe(202);
    await rx.waitFor((r) => r.length === 3);
  });

  afterAll(async () => {
    await relay?.stop();
    await rx?.close();
  });

  it('delivers a request that verifies with the current secret only', async () => {
    const req = at('/plain');
    expect(JSON.parse(req.body)).toMatchObject({ type: 'payment.completed', data: { note: 'naïve ☃ 🎉' } });
    expect(c.signatures(req)).toHaveLength(1);
    expect(await c.verifies(req, current)).toBe(true);
    expect(await c.verifies(req, previous)).toBe(false);
  });

  it('during rotation carries one signature per unexpired secret, each verifying with its own secret', async () => {
    const req = at('/rotating');
    expect(c.signatures(req)).toHaveLength(2);
    expect(await c.verifies(req, current)).toBe(true);
    expect(await c.verifies(req, previous)).toBe(true);
    expect(await c.verifies(req, expired)).toBe(false);
  });

  it('stops signing with a previous secret once it has expired', async () => {
    const req = at('/expired');
    expect(c.signatures(req)).toHaveLength(1);
    expect(await c.verifies(req, current)).toBe(true);
    expect(await c.verifies(req, expired)).toBe(false);
  });
});
