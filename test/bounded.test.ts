import { request } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliverer, type Deliverer } from '../src/dispatch/deliver';
import { eventually, startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

// Bounded resources (issue 6): a receiver cannot hold an attempt past its timeout or make the relay
// keep more than max_response_body of its answer, and an ingest body over the limit is cut off
// while it arrives. Each case checks the socket really closed, not only that a promise settled.

const TIMEOUT_MS = 1000;
const CAP = 1024;

/** A raw TCP receiver: `onRequest` gets the socket once the request head and body have arrived. */
async function rawReceiver(onRequest: (socket: Socket) => void) {
  const sockets = new Set<Socket>();
  const closed: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => closed.push(socket));
    socket.on('error', () => {});
    let buffered = '';
    let answered = false;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const head = buffered.indexOf('\r\n\r\n');
      if (answered || head < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, head))?.[1] ?? 0);
      if (buffered.length - head - 4 < length) return;
      answered = true;
      onRequest(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    sockets,
    closed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
type RawReceiver = Awaited<ReturnType<typeof rawReceiver>>;
/** Every connection the relay opened to this receiver is closed again. */
const allClosed = (r: RawReceiver) => r.sockets.size > 0 && r.closed.length === r.sockets.size;

/** Writes `write()` every `everyMs` until the socket closes; counts the bytes that went out. */
function keepWriting(socket: Socket, everyMs: number, write: () => string | Buffer) {
  const state = { bytes: 0, stopped: false };
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) {
      clearInterval(timer);
      state.stopped = true;
      return;
    }
    const data = write();
    state.bytes += data.length;
    socket.write(data);
  }, everyMs);
  socket.on('close', () => {
    clearInterval(timer);
    state.stopped = true;
  });
  return state;
}

const request1 = {
  url: '',
  headers: { 'content-type': 'application/json' },
  body: '{"id":"evt_1","type":"t","timestamp":"2026-01-01T00:00:00.000Z","data":{}}',
};

describe('an attempt against a hostile receiver', () => {
  let deliverer: Deliverer;
  let receiver: RawReceiver;
  afterEach(async () => {
    await deliverer?.close();
    await receiver?.close();
  });

  const attempt = (url: string) => {
    deliverer = createDeliverer({
      now: () => Date.now(),
      connectionsPerOrigin: 4,
      maxResponseBody: CAP,
      network: { allowPrivateNetworks: true, allowedNetworks: [] },
    });
    return deliverer.deliver({ ...request1, url }, { timeoutMs: TIMEOUT_MS });
  };

  it('ends at the timeout when the receiver never sends headers, and closes the socket', async () => {
    receiver = await rawReceiver(() => {});
    const result = await attempt(receiver.url);
    expect(result.outcome).toEqual({ kind: 'retry', status: null, error: `timeout after ${TIMEOUT_MS} ms` });
    expect(result.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    await eventually(async () => allClosed(receiver));
  });

  it('ends at the timeout when the receiver trickles its head one byte a second', async () => {
    const answer = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
    let sent: ReturnType<typeof keepWriting> | undefined;
    receiver = await rawReceiver((socket) => {
      let i = 0;
      sent = keepWriting(socket, 1000, () => answer[i++ % answer.length]!);
    });
    const result = await attempt(receiver.url);
    expect(result.outcome).toEqual({ kind: 'retry', status: null, error: `timeout after ${TIMEOUT_MS} ms` });
    await eventually(async () => allClosed(receiver) && sent!.stopped);
  });

  it('ends at the timeout when the body trickles one byte a second, and the attempt is retried', async () => {
    let sent: ReturnType<typeof keepWriting> | undefined;
    receiver = await rawReceiver((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n');
      sent = keepWriting(socket, 1000, () => 'x');
    });
    const result = await attempt(receiver.url);
    // A 200 whose body never finished is not a success: the attempt is retried.
    expect(result.outcome).toEqual({ kind: 'retry', status: null, error: `timeout after ${TIMEOUT_MS} ms` });
    await eventually(async () => allClosed(receiver) && sent!.stopped);
  });

  it('stops reading a body that streams forever at max_response_body and closes the socket', async () => {
    let sent: ReturnType<typeof keepWriting> | undefined;
    receiver = await rawReceiver((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = 'y'.repeat(4096);
      sent = keepWriting(socket, 1, () => `${(4096).toString(16)}\r\n${chunk}\r\n`);
    });
    const result = await attempt(receiver.url);
    expect(result.status).toBe(200);
    expect(result.body).toBe('y'.repeat(CAP));
    await eventually(async () => allClosed(receiver) && sent!.stopped);
    // The receiver could not push much past the cap: the relay stopped reading and hung up.
    expect(sent!.bytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('ends at the timeout when a body streams forever below the cap, and closes the socket', async () => {
    deliverer = createDeliverer({
      now: () => Date.now(),
      connectionsPerOrigin: 4,
      maxResponseBody: 64 * 1024 * 1024,
      network: { allowPrivateNetworks: true, allowedNetworks: [] },
    });
    let sent: ReturnType<typeof keepWriting> | undefined;
    receiver = await rawReceiver((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      sent = keepWriting(socket, 20, () => '10\r\n0123456789abcdef\r\n');
    });
    const result = await deliverer.deliver({ ...request1, url: receiver.url }, { timeoutMs: TIMEOUT_MS });
    expect(result.outcome).toEqual({ kind: 'retry', status: null, error: `timeout after ${TIMEOUT_MS} ms` });
    await eventually(async () => allClosed(receiver) && sent!.stopped);
  });

  it('fails cleanly when the response head is larger than Node accepts', async () => {
    receiver = await rawReceiver((socket) => {
      const huge = Array.from({ length: 200 }, (_, i) => `x-filler-${i}: ${'h'.repeat(500)}\r\n`).join('');
      socket.end(`HTTP/1.1 200 OK\r\n${huge}content-length: 2\r\n\r\nok`);
    });
    const result = await attempt(receiver.url);
    expect(result.outcome.kind).toBe('retry');
    expect(result.status).toBeNull();
    expect((result.outcome as { error: string }).error).toMatch(/header/i);
    await eventually(async () => allClosed(receiver));
  });

  it('keeps max_response_body bytes of a large answer, never half a character', async () => {
    receiver = await rawReceiver((socket) => {
      // 'é' is two bytes: an odd cap would cut one in half.
      const body = Buffer.from(`a${'é'.repeat(100_000)}`);
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 500 Oops\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
    });
    const result = await attempt(receiver.url);
    expect(result.status).toBe(500);
    expect(Buffer.byteLength(result.body!)).toBeLessThanOrEqual(CAP);
    expect(result.body).toBe(`a${'é'.repeat((CAP - 2) / 2)}`);
    expect(result.body).not.toContain('\ufffd');
  });
});

describe('attempt records of hostile receivers', () => {
  let relay: RunningRelay | undefined;
  const receivers: RawReceiver[] = [];
  afterEach(async () => {
    await relay?.stop();
    for (const r of receivers.splice(0)) await r.close();
  });

  it('record the timeout error and the capped body, and retry later', async () => {
    const silent = await rawReceiver(() => {});
    const flood = await rawReceiver((socket) => {
      socket.write('HTTP/1.1 503 Busy\r\ntransfer-encoding: chunked\r\n\r\n');
      keepWriting(socket, 1, () => `1000\r\n${'z'.repeat(4096)}\r\n`);
    });
    receivers.push(silent, flood);
    const sub = (id: string, url: string) => ({
      id,
      url,
      events: [`bounded.${id}`],
      signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
    });
    relay = await startRelay(
      testConfig({
        delivery: { timeout: '1s', max_response_body: '1kb', retry_schedule: ['1h'] },
        subscriptions: [sub('silent', silent.url), sub('flood', flood.url)],
      }),
    );
    const ids: Record<string, string> = {};
    for (const id of ['silent', 'flood']) {
      const res = await relay.post('/ingest', { type: `bounded.${id}` });
      expect(res.status).toBe(202);
      const [delivery] = await relay.store.listDeliveriesOfEvent(((await res.json()) as { id: string }).id);
      ids[id] = delivery!.id;
    }
    const attemptOf = async (id: string) => eventually(async () => (await relay!.store.listAttempts(ids[id]!))[0]);
    const timedOut = await attemptOf('silent');
    expect(timedOut).toMatchObject({ responseStatus: null, responseBody: null, error: 'timeout after 1000 ms' });
    const capped = await attemptOf('flood');
    expect(capped).toMatchObject({ responseStatus: 503, error: 'HTTP 503' });
    expect(capped.responseBody).toBe('z'.repeat(1024));
    for (const id of Object.values(ids)) expect((await relay.store.getDelivery(id))?.status).toBe('retrying');
    await eventually(async () => allClosed(silent) && allClosed(flood));
  });
});

describe('ingest bodies over the limit', () => {
  let relay: RunningRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('cuts a 50 MB chunked body off early with 413, without buffering it, and stores nothing', async () => {
    relay = await startRelay(testConfig({ server: { body_limit: '64kb' } }));
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const outcome = await new Promise<{ status: number | null; written: number; error: string | null }>((resolve) => {
      let status: number | null = null;
      let written = 0;
      const req = request(
        `${relay!.url}/ingest`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          status = res.statusCode ?? null;
          res.resume();
        },
      );
      const finish = (error: string | null) => resolve({ status, written, error });
      req.on('error', (err) => finish(err.message));
      req.on('close', () => finish(null));
      req.write('{"type":"big","data":"');
      // Write as fast as the server reads: back-pressure, not our buffer, decides the pace.
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    expect(outcome.status).toBe(413);
    // The server closed the connection long before the client could push 50 MB through it (what
    // got written sat in the kernel's socket buffers).
    expect(outcome.written).toBeLessThan(total / 2);
    // Nothing close to the body was held in memory (the client's and the server's buffers together).
    expect(peak - before).toBeLessThan(32 * 1024 * 1024);
    expect((await relay.store.deliveryStats()).length).toBe(0);
    expect((await relay.store.listEvents({ limit: 10 })).data).toEqual([]);
    // And the relay still serves.
    expect((await relay.post('/ingest', { type: 'small' })).status).toBe(202);
  });

  it('answers 413 from Content-Length alone, before reading any of the body', async () => {
    relay = await startRelay(testConfig({ server: { body_limit: '1kb' } }));
    const raw = await rawExchange(
      relay.url,
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n{"type":"a"`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
  });

  it('rejects conflicting Content-Length and Transfer-Encoding with a 400 problem+json and stores nothing', async () => {
    relay = await startRelay(testConfig({ server: { body_limit: '1kb' } }));
    const smuggled = [
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 13\r\ntransfer-encoding: chunked\r\n\r\nd\r\n{"type":"a1"}\r\n0\r\n\r\n`,
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\ncontent-length: 13\r\n\r\nd\r\n{"type":"a2"}\r\n0\r\n\r\n`,
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 13\r\ncontent-length: 14\r\n\r\n{"type":"a3"}`,
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked, identity\r\n\r\nd\r\n{"type":"a4"}\r\n0\r\n\r\n`,
      `POST /ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{"type":"a5"}\r\n0\r\n\r\n`,
    ];
    for (const text of smuggled) {
      const raw = await rawExchange(relay.url, text);
      expect(raw, text).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw, text).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, title: 'Bad Request' });
    }
    expect((await relay.store.listEvents({ limit: 10 })).data).toEqual([]);
    expect((await relay.post('/ingest', { type: 'after' })).status).toBe(202);
  });
});

/** Sends raw bytes and collects everything the server answers until it closes (or 3 s pass). */
function rawExchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', (err) => (answer ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}
