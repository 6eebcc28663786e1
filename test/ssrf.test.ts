import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './helpers/admin-client';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';
import { armTripwire } from './ssrf-tripwire';

// SPEC 7 end to end: a real relay with allow_private_networks: false. Every URL below points at a
// real receiver's port, so a loopback form that slipped through would be seen arriving; anything
// beyond loopback is stopped by the tripwire before its SYN and fails the test.

const tripwire = armTripwire();
afterAll(() => tripwire.disarm());

let rx: Receiver;
let relay: RunningRelay | undefined;
beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(() => rx.close());
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  expect(tripwire.take()).toEqual([]);
});

const port = () => new URL(rx.url).port;
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };
const OFF = '(delivery.allow_private_networks is false)';
const OFF_ALLOWED = '(delivery.allow_private_networks is false and no delivery.allowed_networks entry covers it)';
const admin = { admin_tokens: [{ name: 'ops', token: 'ops-token-0123456789', scopes: ['read', 'write'] }] };
const ops = adminClient(() => relay!.url, 'ops-token-0123456789');

/** Ingests one event and waits until every delivery of it has finished; answers them by subscription id. */
async function deliverOne(type = 'x.y') {
  const res = await relay!.post('/ingest', { type, data: {} });
  expect(res.status).toBe(202);
  return settle(((await res.json()) as { id: string }).id);
}

async function settle(eventId: string) {
  const deliveries = await relay!.until(async () => {
    const all = await relay!.store.listDeliveriesOfEvent(eventId);
    return all.every((d) => d.status === 'succeeded' || d.status === 'failed') && all;
  });
  const attempts = await Promise.all(deliveries.map((d) => relay!.store.listAttempts(d.id)));
  return new Map(deliveries.map((d, i) => [d.subscriptionId, { status: d.status, errors: attempts[i]!.map((a) => a.error) }]));
}

// Each literal form, as written in a subscription URL, and the error its attempt records.
const LITERALS: [string, string][] = [
  ['127.0.0.1', '127.0.0.1 is a loopback address'],
  ['127.1', '127.0.0.1 is a loopback address'],
  ['2130706433', '127.0.0.1 is a loopback address'],
  ['0x7f000001', '127.0.0.1 is a loopback address'],
  ['0x7f.1', '127.0.0.1 is a loopback address'],
  ['0177.0.0.1', '127.0.0.1 is a loopback address'],
  ['[::1]', '::1 is a loopback address'],
  ['[::ffff:127.0.0.1]', '::ffff:7f00:1 stands for 127.0.0.1, a loopback address'],
  ['[::ffff:7f00:1]', '::ffff:7f00:1 stands for 127.0.0.1, a loopback address'],
  ['0.0.0.0', '0.0.0.0 is an unspecified address'],
  ['[::]', ':: is an unspecified address'],
  ['10.0.0.1', '10.0.0.1 is a private address'],
  ['172.16.5.4', '172.16.5.4 is a private address'],
  ['192.168.1.1', '192.168.1.1 is a private address'],
  ['100.64.0.1', '100.64.0.1 is a CGNAT address'],
  ['169.254.169.254', '169.254.169.254 is a link-local address'],
  ['[fe80::1]', 'fe80::1 is a link-local address'],
  ['[fc00::1]', 'fc00::1 is a unique-local address'],
  ['224.0.0.1', '224.0.0.1 is a multicast address'],
  ['[ff02::1]', 'ff02::1 is a multicast address'],
  ['255.255.255.255', '255.255.255.255 is a broadcast address'],
  ['[::ffff:169.254.169.254]', '::ffff:a9fe:a9fe stands for 169.254.169.254, a link-local address'],
  ['[64:ff9b::10.0.0.1]', '64:ff9b::a00:1 stands for 10.0.0.1, a private address'],
];

/**
 * A config whose subscriptions point at literal addresses the guard blocks. Loading refuses those
 * (config error with its line; the admin API answers 400), so the dial-time guard, the second line
 * of defence, is reached here the way it is in production: by definitions that were valid when
 * stored (an API subscription created while private networks were allowed, then a config change).
 * The schema runs with private networks allowed, then the rules under test are put in place.
 */
function storedBeforeRulesChanged(raw: Parameters<typeof testConfig>[0] & { delivery: Record<string, unknown> }) {
  const config = testConfig({ ...raw, delivery: { ...raw.delivery, allow_private_networks: true } });
  config.delivery.allow_private_networks = false;
  return config;
}

describe('network guard (allow_private_networks: false)', () => {
  it('fails every literal blocked form for good with the blocked error, reaching nothing', async () => {
    const subscriptions = LITERALS.map(([host], i) => ({ id: `s${i}`, url: `http://${host}:${port()}/hook`, signature }));
    relay = await startRelay(storedBeforeRulesChanged({ delivery: {}, subscriptions }));
    const before = rx.received.length;
    const results = await deliverOne();
    for (const [i, [host, text]] of LITERALS.entries()) {
      // One attempt only: the schedule has two retries, a blocked destination uses none.
      expect({ host, ...results.get(`s${i}`) }).toEqual({ host, status: 'failed', errors: [`blocked: ${text} ${OFF}`] });
    }
    expect(rx.received.length).toBe(before);
  });

  it('resolves names when dialling and blocks one that resolves to loopback', async () => {
    relay = await startRelay(
      testConfig({
        delivery: { allow_private_networks: false },
        subscriptions: [{ id: 'local', url: `http://localhost:${port()}/`, signature }],
      }),
    );
    const before = rx.received.length;
    const { errors, status } = (await deliverOne()).get('local')!;
    expect(status).toBe('failed');
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(`^blocked: localhost resolved to (127\\.0\\.0\\.1|::1), a loopback address \\${OFF.slice(0, -1)}\\)$`),
      ),
    ]);
    expect(rx.received.length).toBe(before);
  });

  it('lets allowed_networks through (127.0.0.0/8 reaches the receiver) and still blocks the rest', async () => {
    const subscriptions = [
      { id: 'allowed', url: `${rx.url}/allowed`, signature },
      { id: 'decimal', url: `http://2130706433:${port()}/decimal`, signature },
      { id: 'mapped', url: `http://[::ffff:127.0.0.1]:${port()}/mapped`, signature },
      { id: 'v6-loopback', url: `http://[::1]:${port()}/v6`, signature },
      { id: 'private', url: `http://10.0.0.1:${port()}/`, signature },
    ];
    relay = await startRelay(storedBeforeRulesChanged({ delivery: { allowed_networks: ['127.0.0.0/8'] }, subscriptions }));
    const results = await deliverOne();
    expect(results.get('allowed')).toEqual({ status: 'succeeded', errors: [null] });
    expect(results.get('decimal')).toEqual({ status: 'succeeded', errors: [null] });
    // A v4 CIDR covers the v4-mapped v6 form of its addresses, which Linux dials as v4.
    expect(results.get('mapped')).toEqual({ status: 'succeeded', errors: [null] });
    expect(results.get('v6-loopback')).toEqual({ status: 'failed', errors: [`blocked: ::1 is a loopback address ${OFF_ALLOWED}`] });
    expect(results.get('private')).toEqual({ status: 'failed', errors: [`blocked: 10.0.0.1 is a private address ${OFF_ALLOWED}`] });
    expect(rx.received.map((r) => r.path).sort()).toEqual(expect.arrayContaining(['/allowed', '/decimal', '/mapped']));
  });

  it('covers test events: POST /subscriptions/{id}/test to a blocked address fails the same way', async () => {
    relay = await startRelay(
      storedBeforeRulesChanged({ auth: admin, delivery: {}, subscriptions: [{ id: 'cfg', url: `${rx.url}/cfg`, signature }] }),
    );
    const before = rx.received.length;
    const res = await ops('POST', '/subscriptions/cfg/test');
    expect(res.status).toBe(202);
    const results = await settle(res.body.event_id);
    expect(results.get('cfg')).toEqual({ status: 'failed', errors: [`blocked: 127.0.0.1 is a loopback address ${OFF}`] });
    expect(rx.received.length).toBe(before);
  });

  it('refuses over the admin API a subscription whose URL is a literal blocked address (400 on url)', async () => {
    relay = await startRelay(testConfig({ auth: admin, delivery: { allow_private_networks: false, allowed_networks: ['10.1.0.0/16'] } }));
    for (const [host, text] of [
      ['0x7f.1', '127.0.0.1 is a loopback address'],
      ['[::ffff:a9fe:a9fe]', '::ffff:a9fe:a9fe stands for 169.254.169.254, a link-local address'],
      ['10.2.0.1', '10.2.0.1 is a private address'],
    ]) {
      const res = await ops('POST', '/subscriptions', { id: 'api', url: `http://${host}/hook` });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors).toEqual([{ path: 'url', message: `blocked: ${text} ${OFF_ALLOWED}` }]);
    }
    // Names pass (checked when dialled); so does an address in allowed_networks. No event is ever sent.
    expect((await ops('POST', '/subscriptions', { id: 'named', url: 'https://hooks.example.com/in' })).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'allowed', url: 'http://10.1.2.3/in' })).status).toBe(201);
    const patch = await ops('PATCH', '/subscriptions/named', { url: 'http://[fd00::5]:8080/in' });
    expect(patch.status).toBe(400);
    expect(patch.body.errors).toEqual([{ path: 'url', message: `blocked: fd00::5 is a unique-local address ${OFF_ALLOWED}` }]);
    expect((await ops('GET', '/subscriptions/named')).body.url).toBe('https://hooks.example.com/in');
    expect((await ops('PATCH', '/subscriptions/named', { enabled: false })).status).toBe(200);
  });
});

describe('allow_private_networks: true', () => {
  it('lets every address through, literal or not, and the admin API accepts them', async () => {
    const subscriptions = [
      { id: 'plain', url: `${rx.url}/plain`, signature },
      { id: 'hex', url: `http://0x7f.1:${port()}/hex`, signature },
      { id: 'mapped', url: `http://[::ffff:7f00:1]:${port()}/mapped`, signature },
    ];
    relay = await startRelay(testConfig({ auth: admin, delivery: { allow_private_networks: true }, subscriptions }));
    const results = await deliverOne();
    expect([...results.values()].map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect((await ops('POST', '/subscriptions', { id: 'api', url: 'http://169.254.169.254/latest', enabled: false })).status).toBe(201);
  });
});
