import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy';

/*
 * The fault proxy itself, each mode against a tiny echo server (where every byte is visible) and
 * against the real Postgres with `pg` (what the storage fault tests will put it in front of).
 */

const PG_URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// How long a held connection must stay silent to count as unanswered; the proxy drops bytes at once.
const SILENCE_MS = 300;

let proxy: FaultProxy | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  // The proxy first: it releases every held socket, so clients and servers behind it can close.
  await proxy?.close();
  proxy = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo server on 127.0.0.1:0 that records what reached it. */
async function startEcho() {
  const open = new Set<Socket>();
  const received: string[] = [];
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(socket));
    socket.on('data', (chunk) => {
      received.push(chunk.toString());
      socket.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as AddressInfo).port,
    received,
    accepted: () => accepted,
    open: () => open.size,
  };
}

/** A client socket to the proxy; resolves once connected, rejects with the connect error. */
async function dial(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(async () => void socket.destroy());
  await once(socket, 'connect'); // once() rejects on 'error'
  return socket;
}

/** The error code a dial ends with: refused at connect, or reset right after it. */
async function dialFailure(port: number): Promise<string | undefined> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(async () => void socket.destroy());
  const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
  return err.code;
}

/** Writes `text` and resolves with the first chunk that comes back. */
async function roundTrip(socket: Socket, text: string): Promise<string> {
  const reply = once(socket, 'data');
  socket.write(text);
  return String((await reply)[0]);
}

/** Writes `text` and resolves when SILENCE_MS pass with nothing back; rejects if anything comes back. */
async function unanswered(socket: Socket, text: string): Promise<void> {
  socket.setTimeout(SILENCE_MS);
  const outcome = new Promise<void>((resolve, reject) => {
    socket.once('timeout', resolve);
    socket.once('data', (chunk) => reject(new Error(`answered: ${chunk}`)));
    socket.once('close', () => reject(new Error('closed')));
  });
  socket.write(text);
  await outcome;
  socket.setTimeout(0);
}

describe('fault proxy against an echo server', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: echo.port });
  });

  it('pass: bytes flow both ways, one target connection per client', async () => {
    expect(proxy!.mode).toBe('pass');
    const a = await dial(proxy!.port);
    const b = await dial(proxy!.port);
    expect(await roundTrip(a, 'one')).toBe('one');
    expect(await roundTrip(b, 'two')).toBe('two');
    expect(proxy!.connections()).toBe(2);
    expect(echo.accepted()).toBe(2);
  });

  it('cut: open connections are reset on both sides, new ones are reset at once', async () => {
    const a = await dial(proxy!.port);
    expect(await roundTrip(a, 'hi')).toBe('hi');
    const failed = once(a, 'error');
    await proxy!.setMode('cut');
    expect(proxy!.connections()).toBe(0);
    expect(((await failed)[0] as NodeJS.ErrnoException).code).toBe('ECONNRESET');

    expect(await dialFailure(proxy!.port)).toBe('ECONNRESET');
    expect(echo.accepted()).toBe(1); // the cut connection never reached the target

    await proxy!.setMode('pass');
    expect(await roundTrip(await dial(proxy!.port), 'again')).toBe('again');
  });

  it('refuse: new connections are refused on the same port, open ones carry on', async () => {
    const port = proxy!.port;
    const a = await dial(port);
    await proxy!.setMode('refuse');
    expect(await dialFailure(port)).toBe('ECONNREFUSED');
    expect(await roundTrip(a, 'still here')).toBe('still here');
    expect(proxy!.connections()).toBe(1);

    await proxy!.setMode('pass');
    expect(proxy!.port).toBe(port);
    expect(await roundTrip(await dial(port), 'back')).toBe('back');
    expect(await roundTrip(a, 'and me')).toBe('and me');
  });

  it('blackhole: nothing crosses in either direction and sockets stay open; pass lets new ones through', async () => {
    const a = await dial(proxy!.port);
    expect(await roundTrip(a, 'before')).toBe('before');
    await proxy!.setMode('blackhole');

    await unanswered(a, 'lost');
    const b = await dial(proxy!.port); // accepted, never forwarded
    await unanswered(b, 'also lost');
    expect(echo.received).toEqual(['before']);
    expect(echo.accepted()).toBe(1);
    expect(proxy!.connections()).toBe(2);

    // Held connections are given up on leaving blackhole; new ones pass.
    const released = Promise.all([once(a, 'close'), once(b, 'close')]);
    await proxy!.setMode('pass');
    await released;
    expect(await roundTrip(await dial(proxy!.port), 'after')).toBe('after');
    expect(proxy!.connections()).toBe(1);
  });

  it('blackhole on an open connection holds the target side too', async () => {
    const a = await dial(proxy!.port);
    expect(await roundTrip(a, 'x')).toBe('x');
    await proxy!.setMode('blackhole');
    await unanswered(a, 'y');
    // The target still has its side open: the proxy neither forwarded nor closed anything.
    expect(echo.open()).toBe(1);
  });

  it('close: every connection ends and the port is refused', async () => {
    const a = await dial(proxy!.port);
    await proxy!.setMode('refuse');
    const closed = once(a, 'close');
    await proxy!.close();
    await closed;
    expect(await dialFailure(proxy!.port)).toBe('ECONNREFUSED');
  });
});

describe('fault proxy in front of Postgres', () => {
  const target = new URL(PG_URL);

  beforeEach(async () => {
    proxy = await startFaultProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  });

  /** A pg.Client through the proxy, not yet connected; 'error' events are collected, not thrown. */
  function client(options: pg.ClientConfig = {}) {
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${proxy!.port}`;
    const c = new pg.Client({ connectionString: url.toString(), ...options });
    const errors: Error[] = [];
    c.on('error', (err) => errors.push(err));
    cleanups.push(() => c.end().catch(() => {}));
    return Object.assign(c, { errors });
  }

  it('pass: queries work', async () => {
    const c = client();
    await c.connect();
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    expect(proxy!.connections()).toBe(1);
  });

  it('cut: an idle client emits an error, a query in flight rejects, a new connect fails', async () => {
    const idle = client();
    const busy = client();
    await Promise.all([idle.connect(), busy.connect()]);
    const idleError = once(idle, 'error');
    // Sent in the same tick as the cut: no answer can have come back through the proxy yet.
    const query = busy.query('select 1');
    await proxy!.setMode('cut');
    await expect(query).rejects.toThrow(/ECONNRESET|Connection terminated unexpectedly/);
    expect(String((await idleError)[0])).toMatch(/ECONNRESET|Connection terminated unexpectedly/);

    await expect(client().connect()).rejects.toThrow(/ECONNRESET|Connection terminated unexpectedly/);
  });

  it('refuse: connect fails with ECONNREFUSED, an open client still queries, pass lets new ones in', async () => {
    const open = client();
    await open.connect();
    await proxy!.setMode('refuse');
    await expect(client().connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await open.query('select 2 as two')).rows).toEqual([{ two: 2 }]);

    await proxy!.setMode('pass');
    const later = client();
    await later.connect();
    expect((await later.query('select 3 as three')).rows).toEqual([{ three: 3 }]);
  });

  it('blackhole: a query with query_timeout times out, a connect with connectionTimeoutMillis times out', async () => {
    const open = client({ query_timeout: SILENCE_MS });
    await open.connect();
    await proxy!.setMode('blackhole');
    await expect(open.query('select 1')).rejects.toThrow(/Query read timeout/);
    expect(proxy!.connections()).toBe(1); // held, not closed
    await expect(client({ connectionTimeoutMillis: SILENCE_MS }).connect()).rejects.toThrow(/timeout/i);

    await proxy!.setMode('pass');
    const later = client();
    await later.connect();
    expect((await later.query('select 4 as four')).rows).toEqual([{ four: 4 }]);
  });
});
