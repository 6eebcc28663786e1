/**
 * SPEC 5: `data` travels as the exact text it was sent in. Numbers a double cannot hold, number
 * spellings JSON.stringify would change, escapes and whitespace must reach the receiver (and the
 * signature must cover) those very bytes; the admin API shows them the same; idempotency compares
 * numbers by their text; a duplicate key anywhere is refused, so what is filtered is what is sent.
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Received, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

const ADMIN = 'admin-token-0123456789';
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

/** Written by hand: JSON.stringify could produce none of these spellings. */
const DATA =
  '{"order_id":9007199254740993,"snowflake":1234567890123456789,"exp":1e400,\n' +
  '  "price":1.10, "zero":-0, "sci":1E+2,\t"name":"Ren\\u00e9e  \\u00e9t\\u00e9 \\"quoted\\" \\/",\n' +
  '  "nested":{ "a" : [ 1 , 2.50 ] }, "id":"x" }';

let relay: RunningRelay;
let rx: Receiver;

beforeEach(async () => {
  rx = await startReceiver();
  relay = await startRelay(
    testConfig({
      auth: { admin_tokens: [{ name: 'ops', token: ADMIN }] },
      subscriptions: [
        { id: 'envelope', url: `${rx.url}/envelope`, events: ['order.*'], filter: { 'data.price': { $gt: 1 } }, signature },
        { id: 'data', url: `${rx.url}/data`, events: ['order.*'], payload: 'data', signature },
      ],
    }),
  );
});
afterEach(async () => {
  await relay.stop();
  await rx.close();
});

async function ingest(body: string, path = '/ingest'): Promise<{ status: number; body: { id: string; events: { id: string }[] } }> {
  const res = await relay.post(path, body);
  return { status: res.status, body: (await res.json()) as { id: string; events: { id: string }[] } };
}

async function admin(method: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${relay.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: res.status, text: await res.text() };
}

/** The requests of one event at one path, once `count` of them have arrived. */
async function arrived(id: string, path: string, count = 1): Promise<Received[]> {
  const of = (r: Received[]) => r.filter((x) => x.headers['webhook-id'] === id && x.path === path);
  await rx.waitFor((r) => of(r).length >= count);
  return of(rx.received);
}

function expectSigned(r: Received) {
  // verify() computes the HMAC over r.body, the bytes received; it throws on a mismatch.
  expect(() => new Webhook(TEST_SECRET).verify(r.body, r.headers)).not.toThrow();
}

describe('data as sent', () => {
  it('reaches receivers byte for byte, envelope and data payloads, and the signatures cover those bytes', async () => {
    const { status, body } = await ingest(`{"type":"order.created", "data" : ${DATA} }`);
    expect(status).toBe(202);
    const [raw] = await arrived(body.id, '/data');
    expect(raw!.body).toBe(DATA);
    expectSigned(raw!);
    const [envelope] = await arrived(body.id, '/envelope'); // the filter saw price 1.10 as a number
    expect(envelope!.body).toMatch(/^\{"id":"evt_\w+","type":"order.created","timestamp":"[^"]+","data":/);
    expect(envelope!.body.endsWith(`"data":${DATA}}`)).toBe(true);
    expectSigned(envelope!);
  });

  it('keeps every event of a batch as sent', async () => {
    const second = '[ 9007199254740993 , "\\u00e9" ]';
    const { status, body } = await ingest(
      `{"events":[{"data":${DATA},"type":"order.a"},{"type":"order.b","data":${second}}]}`,
      '/ingest/batch',
    );
    expect(status).toBe(202);
    expect((await arrived(body.events[0]!.id, '/data'))[0]!.body).toBe(DATA);
    expect((await arrived(body.events[1]!.id, '/data'))[0]!.body).toBe(second);
  });

  it('is shown as sent by GET /events/{id} and GET /events, and replayed as sent', async () => {
    const { body } = await ingest(`{"type":"order.created","data":${DATA}}`);
    const detail = await admin('GET', `/events/${body.id}`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain(`"data":${DATA},"deliveries":[`);
    expect(JSON.parse(detail.text)).toMatchObject({ id: body.id, type: 'order.created', deliveries: expect.any(Array) });
    const list = await admin('GET', '/events');
    expect(list.text).toContain(`"data":${DATA},"deliveries":2}`);
    expect(JSON.parse(list.text)).toMatchObject({ data: [{ id: body.id }], next_cursor: null });

    await arrived(body.id, '/data');
    expect((await admin('POST', `/events/${body.id}/replay`)).status).toBe(202);
    const both = await arrived(body.id, '/data', 2);
    expect(both.map((r) => r.body)).toEqual([DATA, DATA]);
    both.forEach(expectSigned);
  });

  it('stores {} when data is absent, and null, strings and numbers as sent', async () => {
    for (const [data, expected] of [
      [undefined, '{}'],
      ['null', 'null'],
      ['"\\u00e9\\u0000 \\ud800"', '"\\u00e9\\u0000 \\ud800"'],
      ['-1.50E-07', '-1.50E-07'],
    ] as const) {
      const { body } = await ingest(data === undefined ? '{"type":"order.x"}' : `{"type":"order.x","data":${data}}`);
      expect((await relay.store.getEvent(body.id))?.data).toBe(expected);
    }
  });
});

describe('idempotency compares content as SPEC 3 says', () => {
  const send = (id: string, data: string) => ingest(`{"id":"${id}","type":"order.created","data":${data}}`);

  it('numbers by their text: 9007199254740993 is not 9007199254740992, 1.10 is not 1.1', async () => {
    expect((await send('evt_big', '{"n":9007199254740993}')).status).toBe(202);
    expect((await send('evt_big', '{"n":9007199254740992}')).status).toBe(409);
    expect((await send('evt_big', '{"n":9007199254740993}')).status).toBe(200);
    expect((await send('evt_dec', '[1.10]')).status).toBe(202);
    expect((await send('evt_dec', '[1.1]')).status).toBe(409);
  });

  it('key order and whitespace ignored, strings by their decoded value', async () => {
    const first = await send('evt_same', '{"a":1,"b":{"c":"é","d":[1,2]}}');
    expect(first.status).toBe(202);
    const again = await send('evt_same', ' { "b" : { "d" : [ 1, 2 ], "c" : "\\u00e9" } , "a" : 1 } ');
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // Stored as first sent: a replay with equal content stores nothing.
    expect((await relay.store.getEvent('evt_same'))?.data).toBe('{"a":1,"b":{"c":"é","d":[1,2]}}');
  });
});

describe('duplicate keys', () => {
  it.each([
    ['at the top level', '/ingest', '{"type":"order.a","type":"order.b"}', 'type'],
    ['inside data', '/ingest', '{"type":"order.a","data":{"x":[{"k":1,"k":2}]}}', 'data.x[0].k'],
    ['with equal values', '/ingest', '{"type":"order.a","data":{"k":1,"k":1}}', 'data.k'],
    ['spelt differently', '/ingest', '{"type":"order.a","data":{"k":1,"\\u006b":2}}', 'data.k'],
    ['in a batch event', '/ingest/batch', '{"events":[{"type":"order.a"},{"type":"order.b","data":{"id":1,"id":2}}]}', 'events[1].data.id'],
  ])('%s: 400 naming the key, nothing stored', async (_name, path, text, at) => {
    const res = await relay.post(path, text);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { detail: string; errors: { path: string; message: string }[] };
    expect(problem.detail).toMatch(/duplicate key '\w+' at position \d+/);
    expect(problem.errors).toEqual([{ path: at, message: expect.stringMatching(/^duplicate key/) }]);
    expect((await relay.store.listEvents({ limit: 10 })).data).toEqual([]);
  });
});
