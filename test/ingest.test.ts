import { request } from 'node:http';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

const TOKEN = 'ingest-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };

function subscription(id: string, url: string, events: string[]) {
  return { id, url, events, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET } };
}

describe('POST /ingest', () => {
  let relay: RunningRelay;
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await startReceiver();
    relay = await startRelay(
      testConfig({
        server: { body_limit: '1kb' },
        auth: { ingest_tokens: [TOKEN] },
        subscriptions: [
          subscription('payments', `${receiver.url}/payments`, ['payment.*']),
          subscription('invoices', `${receiver.url}/invoices`, ['invoice.paid']),
          subscription('everything', `${receiver.url}/all`, ['*']),
        ],
      }),
    );
  });
  afterEach(async () => {
    await relay.stop();
    await receiver.close();
  });

  it('answers 202 with a time-sortable id and the number of deliveries after commit', async () => {
    const res = await relay.post('/ingest', { type: 'payment.completed', data: { amount: '100.00' } }, auth);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; deliveries: number };
    expect(body.id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(body.deliveries).toBe(2); // payments (payment.*) and everything (*)
    const stored = await relay.store.getEvent(body.id);
    expect(stored).toMatchObject({ type: 'payment.completed', data: '{"amount":"100.00"}', deliveryCount: 2 });
  });

  it('fans out by wildcard pattern, segment by segment', async () => {
    const cases: [string, string[]][] = [
      ['payment.refund.created', ['/all', '/payments']],
      ['invoice.paid', ['/all', '/invoices']],
      ['invoice.created', ['/all']],
      ['payment', ['/all']], // payment.* needs at least one more segment
    ];
    for (const [type] of cases) expect((await relay.post('/ingest', { type }, auth)).status).toBe(202);
    await receiver.waitFor((r) => r.length === 6);
    for (const [type, paths] of cases) {
      const got = receiver.received.filter((r) => r.headers['x-hookrelay-event'] === type).map((r) => r.path);
      expect(got.sort(), type).toEqual(paths);
    }
  });

  it('answers 401 without a token or with a wrong one, as problem+json', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const res = await relay.post('/ingest', { type: 'a' }, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
  });

  it('answers 400 for JSON that does not parse', async () => {
    const res = await relay.post('/ingest', '{"type": "a",', auth);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/not valid JSON/);
  });

  it('refuses a body that is not UTF-8 instead of storing its bytes replaced', async () => {
    // "café" with the é as Latin-1 (0xE9): valid JSON bytes, not UTF-8.
    const body = Buffer.concat([Buffer.from('{"type":"a","data":{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}}')]);
    const res = await fetch(`${relay.url}/ingest`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toMatch(/not valid UTF-8/);
    expect((await relay.store.listEvents({ limit: 10 })).data.some((e) => e.data.includes('caf'))).toBe(false);
    // The same text in UTF-8 is taken as sent.
    const ok = await relay.post('/ingest', { type: 'a', data: { name: 'café' } }, auth);
    expect(ok.status).toBe(202);
  });

  it('answers 400 with the path of every invalid field', async () => {
    const res = await relay.post('/ingest', { type: 'bad type!', id: 'has space', extra: 1 }, auth);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors.map((e) => e.path).sort()).toEqual(['extra', 'id', 'type']);
    const batch = await relay.post('/ingest/batch', { events: [{ type: 'ok' }, { data: {} }] }, auth);
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { path: string }[] }).errors).toEqual([expect.objectContaining({ path: 'events[1].type' })]);
  });

  it('answers 415 when the body is not JSON', async () => {
    const res = await fetch(`${relay.url}/ingest`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' });
    expect(res.status).toBe(415);
  });

  it('answers 404 as problem+json for unknown routes', async () => {
    const res = await fetch(`${relay.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers 413 over body_limit, also for a chunked body, and stores nothing', async () => {
    const big = JSON.stringify({ type: 'payment.completed', data: { pad: 'x'.repeat(2000) } });
    expect((await relay.post('/ingest', big, auth)).status).toBe(413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${relay.url}/ingest`,
        { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(big.slice(i * 200, (i + 1) * 200));
      req.end(big.slice(2000));
    });
    expect(chunked).toBe(413);
    expect((await relay.store.countDeliveriesByStatus()).pending).toBe(0);
  });

  it('is idempotent by id: same content answers 200 with the first answer, other content 409', async () => {
    const event = { id: 'evt_custom_1', type: 'invoice.paid', data: { a: 1, b: [1, 2] } };
    const first = await relay.post('/ingest', event, auth);
    expect(first.status).toBe(202);
    const firstBody = await first.json();
    // Same content with keys in another order is the same event.
    const again = await relay.post('/ingest', { data: { b: [1, 2], a: 1 }, type: 'invoice.paid', id: 'evt_custom_1' }, auth);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(firstBody);
    const conflict = await relay.post('/ingest', { ...event, data: { a: 2 } }, auth);
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toBe('application/problem+json');
    await receiver.waitFor((r) => r.length >= 2);
    expect((await relay.store.listDeliveriesOfEvent('evt_custom_1')).length).toBe(2);
  });

  it('treats an id the relay made, sent back by the caller, like any other id', async () => {
    const event = { type: 'invoice.paid', data: { n: 7 } };
    const first = await relay.post('/ingest', event, auth);
    expect(first.status).toBe(202);
    const firstBody = (await first.json()) as { id: string };
    const again = await relay.post('/ingest', { ...event, id: firstBody.id }, auth);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(firstBody);
    expect((await relay.post('/ingest', { type: 'invoice.paid', data: { n: 8 }, id: firstBody.id }, auth)).status).toBe(409);
    // In a batch too: the made id and a new one, all or nothing.
    const batch = await relay.post('/ingest/batch', { events: [{ type: 'x' }, { ...event, id: firstBody.id }] }, auth);
    expect(batch.status).toBe(202);
    const answered = ((await batch.json()) as { events: { id: string }[] }).events;
    expect(answered[1]!.id).toBe(firstBody.id);
    expect(await relay.store.listDeliveriesOfEvent(firstBody.id)).toHaveLength(2);
  });

  it('takes the id from Idempotency-Key when the body has none', async () => {
    const headers = { ...auth, 'idempotency-key': 'order-42-paid' };
    const first = await relay.post('/ingest', { type: 'invoice.paid' }, headers);
    expect(first.status).toBe(202);
    expect(((await first.json()) as { id: string }).id).toBe('order-42-paid');
    expect((await relay.post('/ingest', { type: 'invoice.paid' }, headers)).status).toBe(200);
    expect((await relay.post('/ingest', { type: 'invoice.voided' }, headers)).status).toBe(409);
  });

  it('stores one event and one set of deliveries under concurrent identical requests', async () => {
    const event = { id: 'evt_race', type: 'payment.completed', data: { n: 1 } };
    const answers = await Promise.all(Array.from({ length: 40 }, () => relay.post('/ingest', event, auth)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(39);
    const bodies = await Promise.all(answers.map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(await relay.store.listDeliveriesOfEvent('evt_race')).toHaveLength(2);
  });

  it('stores a batch all or nothing and answers in order', async () => {
    const res = await relay.post(
      '/ingest/batch',
      { events: [{ type: 'invoice.paid', id: 'b1' }, { type: 'other' }, { type: 'payment.x' }] },
      auth,
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { events: { id: string; deliveries: number }[] };
    expect(body.events.map((e) => e.deliveries)).toEqual([2, 1, 2]);
    expect(body.events[0]!.id).toBe('b1');
    // b1 with other content conflicts: the whole batch is refused and b2 is not stored.
    const conflict = await relay.post(
      '/ingest/batch',
      {
        events: [
          { type: 'x', id: 'b2' },
          { type: 'invoice.voided', id: 'b1' },
        ],
      },
      auth,
    );
    expect(conflict.status).toBe(409);
    expect(await relay.store.getEvent('b2')).toBeNull();
  });
});

describe('POST /ingest without subscriptions or tokens', () => {
  it('stores an event that matches nothing and leaves ingest open when no token is configured', async () => {
    const relay = await startRelay(testConfig({ server: { body_limit: '1mb' } }));
    try {
      const res = await relay.post('/ingest', { type: 'lonely.event' });
      expect(res.status).toBe(202);
      const { id, deliveries } = (await res.json()) as { id: string; deliveries: number };
      expect(deliveries).toBe(0);
      expect(await relay.store.getEvent(id)).toMatchObject({ type: 'lonely.event', deliveryCount: 0 });
      const many = await relay.post('/ingest/batch', { events: Array.from({ length: 1001 }, () => ({ type: 'a' })) });
      expect(many.status).toBe(400);
      expect(((await many.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('events');
    } finally {
      await relay.stop();
    }
  });
});

describe('POST /ingest while storage is unavailable', () => {
  it('answers 503 with Retry-After, stores nothing, and recovers when the lock is gone', async () => {
    const relay = await startRelay(testConfig(), { busyTimeoutMs: 50 });
    // Another connection holds SQLite's write lock: every write of the relay gets SQLITE_BUSY.
    const other = new Database(relay.config.storage.sqlite!.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const res = await relay.post('/ingest', { type: 'blocked.event', id: 'evt_blocked' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      other.exec('ROLLBACK');
      expect(await relay.store.getEvent('evt_blocked')).toBeNull();
      const retried = await relay.post('/ingest', { type: 'blocked.event', id: 'evt_blocked' });
      expect(retried.status).toBe(202);
    } finally {
      other.close();
      await relay.stop();
    }
  });
});
