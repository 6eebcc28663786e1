import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { promises as dns, type LookupAddress } from 'node:dns';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer, type Deliverer } from '../src/dispatch/deliver';
import type { HostLookup } from '../src/net/guard';
import { startReceiver, type Receiver } from './helpers/receiver';
import { armTripwire } from './ssrf-tripwire';

// The guard on names: what the resolver answers at connect time is what is checked and dialled.
// The deliverer is driven directly with an injected resolver (a function, or a real UDP DNS server
// on 127.0.0.1 that rebinds). "Public" answers are 127.0.0.1 made dialable by allowed_networks
// 127.0.0.0/8, so nothing here ever dials beyond loopback; the tripwire would stop it if it tried.

const tripwire = armTripwire();
afterAll(() => tripwire.disarm());

let rx: Receiver;
let deliverer: Deliverer | undefined;
beforeAll(async () => {
  // Connection: close, so every attempt dials (and resolves) again instead of reusing a socket.
  rx = await startReceiver((_req, res) => void res.writeHead(200, { connection: 'close' }).end('ok'));
});
afterAll(() => rx.close());
afterEach(async () => {
  await deliverer?.close();
  deliverer = undefined;
  expect(tripwire.take()).toEqual([]);
});

const port = () => new URL(rx.url).port;
const SUFFIX = '(delivery.allow_private_networks is false)';
const SUFFIX_ALLOWED = '(delivery.allow_private_networks is false and no delivery.allowed_networks entry covers it)';

/** A resolver answering each call with the next list of addresses (the last one repeats), counting calls. */
function scripted(...answers: string[][]) {
  const calls: string[] = [];
  const lookup: HostLookup = async (hostname) => {
    calls.push(hostname);
    const answer = answers[Math.min(calls.length, answers.length) - 1]!;
    return answer.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

function guarded(lookup: HostLookup, allowedNetworks: string[] = []) {
  deliverer = createDeliverer({
    now: () => Date.now(),
    connectionsPerOrigin: 4,
    maxResponseBody: 1024,
    network: { allowPrivateNetworks: false, allowedNetworks },
    lookup,
  });
  return deliverer;
}

const send = (d: Deliverer, host: string) =>
  d.deliver({ url: `http://${host}:${port()}/hook`, headers: { 'content-type': 'application/json' }, body: '{}' }, { timeoutMs: 5000 });

describe('network guard on resolved names', () => {
  it('blocks a name that resolves to a private address, for good, before dialling', async () => {
    const dns = scripted(['10.0.0.1']);
    const res = await send(guarded(dns.lookup), 'internal.test');
    expect(res.outcome).toEqual({
      kind: 'fail',
      status: null,
      error: `blocked: internal.test resolved to 10.0.0.1, a private address ${SUFFIX}`,
    });
    expect(res.status).toBeNull();
    expect(dns.calls).toEqual(['internal.test']);
  });

  it.each([
    ['169.254.169.254', 'metadata.test resolved to 169.254.169.254, a link-local address'],
    ['::ffff:a9fe:a9fe', 'metadata.test resolved to ::ffff:a9fe:a9fe, which stands for 169.254.169.254, a link-local address'],
    ['64:ff9b::a00:1', 'metadata.test resolved to 64:ff9b::a00:1, which stands for 10.0.0.1, a private address'],
    ['fd00::1', 'metadata.test resolved to fd00::1, a unique-local address'],
    ['::1', 'metadata.test resolved to ::1, a loopback address'],
    ['0.0.0.0', 'metadata.test resolved to 0.0.0.0, an unspecified address'],
  ])('blocks a name resolving to %s', async (address, text) => {
    const res = await send(guarded(scripted([address]).lookup), 'metadata.test');
    expect(res.outcome).toEqual({ kind: 'fail', status: null, error: `blocked: ${text} ${SUFFIX}` });
  });

  it('blocks mixed answers, even when the allowed one comes first', async () => {
    const before = rx.received.length;
    const publicFirst = await send(guarded(scripted(['192.0.2.1', '10.0.0.1']).lookup), 'mixed.test');
    expect(publicFirst.outcome).toMatchObject({
      kind: 'fail',
      error: `blocked: mixed.test resolved to 10.0.0.1, a private address ${SUFFIX}`,
    });
    await deliverer!.close();
    const dialableFirst = await send(guarded(scripted(['127.0.0.1', '::ffff:c0a8:101']).lookup, ['127.0.0.0/8']), 'mixed.test');
    expect(dialableFirst.outcome).toMatchObject({
      kind: 'fail',
      error: `blocked: mixed.test resolved to ::ffff:c0a8:101, which stands for 192.168.1.1, a private address ${SUFFIX_ALLOWED}`,
    });
    expect(rx.received.length).toBe(before);
  });

  it('checks every dial: a name that rebinds from an allowed address to a private one is blocked on the second', async () => {
    const before = rx.received.length;
    const dns = scripted(['127.0.0.1'], ['10.0.0.1']);
    const d = guarded(dns.lookup, ['127.0.0.0/8']);
    expect((await send(d, 'rebind.test')).outcome).toEqual({ kind: 'ok', status: 200 });
    expect(rx.received.length).toBe(before + 1);
    const second = await send(d, 'rebind.test');
    expect(second.outcome).toEqual({
      kind: 'fail',
      status: null,
      error: `blocked: rebind.test resolved to 10.0.0.1, a private address ${SUFFIX_ALLOWED}`,
    });
    expect(dns.calls).toEqual(['rebind.test', 'rebind.test']);
    expect(rx.received.length).toBe(before + 1);
  });

  it('lets a resolver failure stay a retryable network error', async () => {
    const lookup: HostLookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' }));
    const res = await send(guarded(lookup), 'nowhere.test');
    expect(res.outcome).toMatchObject({ kind: 'retry', error: expect.stringContaining('ENOTFOUND') });
    const empty = await send(guarded(scripted([]).lookup), 'empty.test');
    expect(empty.outcome).toMatchObject({ kind: 'retry', error: expect.stringContaining('ENOTFOUND') });
  });

  it('uses neither the resolver nor any check when private networks are allowed', async () => {
    const dns = scripted(['10.0.0.1']);
    deliverer = createDeliverer({
      now: () => Date.now(),
      connectionsPerOrigin: 4,
      maxResponseBody: 1024,
      network: { allowPrivateNetworks: true, allowedNetworks: [] },
      lookup: dns.lookup,
    });
    expect((await send(deliverer, '127.0.0.1')).outcome).toEqual({ kind: 'ok', status: 200 });
    expect(dns.calls).toEqual([]);
  });

  it('has a tripwire that stops a stray dial beyond loopback', async () => {
    const wire = armTripwire();
    const socket = connect({ host: '192.0.2.1', port: 9 });
    const error = await new Promise<Error>((resolve) => socket.on('error', resolve));
    expect(error.message).toBe('tripwire: a test tried to dial 192.0.2.1');
    wire.disarm();
    expect(wire.take()).toEqual(['192.0.2.1']);
    tripwire.take(); // whichever tripwire stopped it, this dial was the test's own
  });
});

describe('network guard against a rebinding DNS server', () => {
  let server: UdpSocket;
  let answered: string[];
  let resolver: dns.Resolver;

  beforeAll(async () => {
    // Answers A queries for rebind.test with 127.0.0.1 the first time, 10.0.0.1 after, TTL 0.
    answered = [];
    server = createSocket('udp4');
    server.on('message', (query, from) => {
      const reply = answerA(query, answered.length === 0 ? '127.0.0.1' : '10.0.0.1');
      if (reply) {
        answered.push(reply.address);
        server.send(reply.packet, from.port, from.address);
      }
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.address().port}`]);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(resolve)));

  it('dials the first answer and refuses the rebound one', async () => {
    const before = rx.received.length;
    const lookup: HostLookup = async (hostname) => (await resolver.resolve4(hostname)).map((address) => ({ address, family: 4 }));
    const d = guarded(lookup, ['127.0.0.0/8']);
    expect((await send(d, 'rebind.test')).outcome).toEqual({ kind: 'ok', status: 200 });
    const second = await send(d, 'rebind.test');
    expect(second.outcome).toEqual({
      kind: 'fail',
      status: null,
      error: `blocked: rebind.test resolved to 10.0.0.1, a private address ${SUFFIX_ALLOWED}`,
    });
    expect(answered).toEqual(['127.0.0.1', '10.0.0.1']);
    expect(rx.received.length).toBe(before + 1);
  });
});

/** A DNS answer with one A record (TTL 0) to an A query, or null for anything else. */
function answerA(query: Buffer, address: string): { packet: Buffer; address: string } | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end]! + 1;
  end += 5; // the root label, QTYPE, QCLASS
  if (end > query.length || query.readUInt16BE(end - 4) !== 1) return null;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, NOERROR
  header.writeUInt16BE(1, 4); // one question
  header.writeUInt16BE(1, 6); // one answer
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(1, 2); // A
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(0, 6); // TTL 0: nothing may cache it
  record.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
  return { packet: Buffer.concat([header, query.subarray(12, end), record]), address };
}
