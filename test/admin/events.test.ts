import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';

const OPS = 'ops-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: 'viewer-token-0123456789', scopes: ['read'] },
];
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

let relay: RunningRelay;
let rx: Receiver;

// Answers are JSON of many shapes; the assertions check them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${OPS}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function ingest(type: string, data: unknown = {}): Promise<string> {
  const res = await relay.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Events are listed by ingest time; a pause keeps two ingests out of the same millisecond. */
const tick = () => new Promise((r) => setTimeout(r, 3));

beforeEach(async () => {
  rx = await startReceiver();
  relay = await startRelay(
    testConfig({
      auth: { admin_tokens: adminTokens },
      subscriptions: [
        { id: 'all', url: `${rx.url}/all`, signature },
        { id: 'orders', url: `${rx.url}/orders`, events: ['order.*'], signature },
        { id: 'big-orders', url: `${rx.url}/big`, events: ['order.*'], filter: { 'data.total': { $gte: 100 } }, signature },
        { id: 'paused', url: `${rx.url}/paused`, enabled: false, signature },
      ],
    }),
  );
});
afterEach(async () => {
  await relay.stop();
  await rx.close();
});

describe('GET /events', () => {
  it('lists events newest first with parsed data and their delivery count', async () => {
    const a = await ingest('order.created', { total: 150, items: ['x'] });
    await tick();
    const b = await ingest('user.signup');
    const { status, body } = await api('GET', '/events');
    expect(status).toBe(200);
    expect(body).toEqual({
      data: [
        { id: b, type: 'user.signup', timestamp: expect.stringMatching(/Z$/), tenant: null, test: false, data: {}, deliveries: 1 },
        {
          id: a,
          type: 'order.created',
          timestamp: expect.stringMatching(/Z$/),
          tenant: null,
          test: false,
          data: { total: 150, items: ['x'] },
          deliveries: 3,
        },
      ],
      next_cursor: null,
    });
  });

  it('filters by type and by an ingest-time window (since inclusive, until exclusive)', async () => {
    const ids: string[] = [];
    for (const type of ['order.created', 'user.signup', 'order.created', 'order.paid']) {
      ids.push(await ingest(type));
      await tick();
    }
    const byType = await api('GET', '/events?type=order.created');
    expect(byType.body.data.map((e: Json) => e.id)).toEqual([ids[2], ids[0]]);

    const second = (await api('GET', `/events/${ids[1]}`)).body.timestamp;
    const fourth = (await api('GET', `/events/${ids[3]}`)).body.timestamp;
    const window = await api('GET', `/events?since=${encodeURIComponent(second)}&until=${encodeURIComponent(fourth)}`);
    expect(window.body.data.map((e: Json) => e.id)).toEqual([ids[2], ids[1]]);
    const both = await api('GET', `/events?type=order.created&since=${encodeURIComponent(second)}`);
    expect(both.body.data.map((e: Json) => e.id)).toEqual([ids[2]]);
    // An offset other than Z means the same instant.
    const shifted = new Date(Date.parse(second) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect((await api('GET', `/events?since=${encodeURIComponent(shifted)}`)).body.data).toHaveLength(3);
  });

  it('pages with limit and cursor while events keep arriving: no duplicates, no gaps, null cursor at the end', async () => {
    const existing: string[] = [];
    for (let i = 0; i < 7; i++) existing.push(await ingest('page.test', { i }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: Json } = await api(
        'GET',
        `/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((e: Json) => e.id));
      cursor = res.body.next_cursor;
      pages++;
      // Newer events land before the first page, never inside the pages still to come.
      await ingest('page.test', { late: pages });
    } while (cursor !== null);
    expect(pages).toBe(4);
    expect(seen).toEqual([...existing].reverse());
  });

  it('answers 400 on a cursor it did not make', async () => {
    for (const cursor of ['bogus', 'eyJhIjoxfQ', '']) {
      const res = await api('GET', `/events?cursor=${cursor}`);
      if (cursor === '') {
        expect(res.status).toBe(200); // an empty cursor is the same as none
        continue;
      }
      expect(res.status, cursor).toBe(400);
      expect(res.body.errors).toEqual([{ path: 'cursor', message: expect.any(String) }]);
    }
  });
});

describe('GET /events/{id}', () => {
  it('shows the event with each delivery', async () => {
    const id = await ingest('order.created', { total: 5 });
    await rx.waitFor((r) => r.length === 2);
    const detail = await relay!.until(async () => {
      const res = await api('GET', `/events/${id}`);
      return res.body.deliveries.every((d: Json) => d.status === 'succeeded') ? res : null;
    });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id, type: 'order.created', data: { total: 5 } });
    expect(detail.body.deliveries.map((d: Json) => d.subscription).sort()).toEqual(['all', 'orders']);
    for (const d of detail.body.deliveries) {
      expect(d).toEqual({
        id: expect.stringMatching(/^dlv_/),
        event_id: id,
        subscription: expect.any(String),
        tenant: null,
        status: 'succeeded',
        attempts: 1,
        next_attempt_at: null,
        last_status_code: 200,
        last_error: null,
        created_at: detail.body.timestamp,
        updated_at: expect.stringMatching(/Z$/),
      });
    }
  });

  it('answers 404 as problem+json for an unknown event', async () => {
    const res = await fetch(`${relay.url}/api/v1/events/evt_nope`, { headers: { authorization: `Bearer ${OPS}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, title: 'Not Found', detail: 'no event evt_nope' });
  });
});

describe('POST /events/{id}/replay', () => {
  it('sends the event again to every matching enabled subscription, with the same webhook-id', async () => {
    const id = await ingest('order.created', { total: 500 });
    await rx.waitFor((r) => r.length === 3);
    const res = await api('POST', `/events/${id}/replay`);
    expect(res.status).toBe(202);
    expect(res.body.deliveries).toHaveLength(3);
    await rx.waitFor((r) => r.length === 6);
    const paths = rx.received
      .slice(3)
      .map((r) => r.path)
      .sort();
    expect(paths).toEqual(['/all', '/big', '/orders']);
    expect(rx.received.every((r) => r.headers['webhook-id'] === id)).toBe(true);
    for (const deliveryId of res.body.deliveries) {
      await relay!.until(async () => (await api('GET', `/deliveries/${deliveryId}`)).body.status === 'succeeded');
    }
    const detail = await api('GET', `/events/${id}`);
    expect(detail.body.deliveries).toHaveLength(6);
    // The listing's count is the ingest answer; replays show in the detail only.
    expect((await api('GET', '/events')).body.data[0].deliveries).toBe(3);
  });

  it('uses the filter on the stored event: a replay skips subscriptions whose filter rejects it', async () => {
    const id = await ingest('order.created', { total: 5 });
    const res = await api('POST', `/events/${id}/replay`, {});
    expect(res.status).toBe(202);
    const detail = await api('GET', `/events/${id}`);
    const replayed = detail.body.deliveries.filter((d: Json) => res.body.deliveries.includes(d.id));
    expect(replayed.map((d: Json) => d.subscription).sort()).toEqual(['all', 'orders']);
  });

  it('sends only to the named subscriptions, even one that would not match the event', async () => {
    const id = await ingest('user.signup');
    await rx.waitFor((r) => r.length === 1);
    const res = await api('POST', `/events/${id}/replay`, { subscriptions: ['orders', 'orders'] });
    expect(res.status).toBe(202);
    expect(res.body.deliveries).toHaveLength(1); // duplicates count once
    await rx.waitFor((r) => r.some((x) => x.path === '/orders'));
    expect(rx.received.find((x) => x.path === '/orders')!.headers['webhook-id']).toBe(id);
  });

  it('answers 400 naming unknown and disabled subscriptions, and creates nothing', async () => {
    const id = await ingest('user.signup');
    const res = await api('POST', `/events/${id}/replay`, { subscriptions: ['all', 'ghost', 'paused'] });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('ghost, paused');
    expect(res.body.errors).toEqual([
      { path: 'subscriptions[1]', message: "no subscription 'ghost'" },
      { path: 'subscriptions[2]', message: "subscription 'paused' is disabled; enable it first" },
    ]);
    expect((await api('GET', `/events/${id}`)).body.deliveries).toHaveLength(1);
  });

  it('validates the body and answers 404 for an unknown event', async () => {
    const id = await ingest('user.signup');
    const bad = await api('POST', `/events/${id}/replay`, { subscriptions: 'all', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toHaveLength(2); // the wrong type, and the unknown field
    expect(bad.body.errors.map((e: Json) => e.path)).toContain('subscriptions');
    expect((await api('POST', `/events/${id}/replay`, { subscriptions: [] })).body.errors).toEqual([
      { path: 'subscriptions', message: expect.any(String) },
    ]);
    expect((await api('POST', '/events/evt_nope/replay', {})).status).toBe(404);
  });

  it('is audited with the token name', async () => {
    const id = await ingest('user.signup');
    const res = await api('POST', `/events/${id}/replay`);
    const audit = await api('GET', '/audit');
    expect(audit.body.data[0]).toMatchObject({
      actor: 'ops',
      action: 'event.replay',
      target: id,
      details: { subscriptions: ['all'], deliveries: res.body.deliveries },
    });
  });
});
