import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';
import { closeAfterEach } from '../helpers/lifecycle';
import { adminClient } from '../helpers/admin-client';

const OPS = 'ops-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: 'viewer-token-0123456789', scopes: ['read'] },
];
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

let relay: RunningRelay | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const life = closeAfterEach();

const receiver = life.receiver;

const api = adminClient(() => relay!.url, OPS);

async function ingest(type: string, data: unknown = {}): Promise<string> {
  const res = await relay!.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** The delivery of `eventId` to `subscription`, once `ready` accepts it. */
async function deliveryOf(eventId: string, subscription: string, ready: (d: Json) => boolean = () => true): Promise<Json> {
  return relay!.until(async () => {
    const { body } = await api('GET', `/events/${eventId}`);
    const d = body.deliveries.find((x: Json) => x.subscription === subscription);
    return d && ready(d) ? d : null;
  });
}

const settled = (d: Json) => ['succeeded', 'failed', 'cancelled'].includes(d.status);

/** The receiver's 500 answer, with a header and a body the attempt record must keep. */
function broken(_req: unknown, res: ServerResponse) {
  res.writeHead(500, { 'x-why': 'database down', 'content-type': 'text/plain' }).end('try later');
}

describe('GET /deliveries', () => {
  it('filters by status, subscription, event type and creation window, and pages', async () => {
    const ok = await receiver();
    const bad = await receiver(broken);
    relay = await life.relay(
      testConfig({
        auth: { admin_tokens: adminTokens },
        subscriptions: [
          { id: 'good', url: ok.url, signature },
          { id: 'flaky', url: bad.url, events: ['order.*'], signature },
        ],
      }),
    );
    const first = await ingest('order.created');
    await new Promise((r) => setTimeout(r, 3));
    const second = await ingest('user.signup');
    await deliveryOf(first, 'flaky', settled);
    await deliveryOf(first, 'good', settled);
    await deliveryOf(second, 'good', settled);

    const all = await api('GET', '/deliveries');
    expect(all.status).toBe(200);
    expect(all.body.next_cursor).toBeNull();
    const rows = all.body.data.map((d: Json) => [d.event_id, d.subscription, d.event_type, d.status]);
    // Newest first; the two deliveries of one event share a creation time.
    expect(rows[0]).toEqual([second, 'good', 'user.signup', 'succeeded']);
    expect(rows.slice(1).sort()).toEqual([
      [first, 'flaky', 'order.created', 'failed'],
      [first, 'good', 'order.created', 'succeeded'],
    ]);
    const ids = (q: string) =>
      api('GET', `/deliveries?${q}`).then((r) => r.body.data.map((d: Json) => `${d.event_type}>${d.subscription}`).sort());
    expect(await ids('status=failed')).toEqual(['order.created>flaky']);
    expect(await ids('status=succeeded')).toEqual(['order.created>good', 'user.signup>good']);
    expect(await ids('status=pending')).toEqual([]);
    expect(await ids('subscription=good')).toEqual(['order.created>good', 'user.signup>good']);
    expect(await ids('event_type=order.created')).toEqual(['order.created>flaky', 'order.created>good']);
    expect(await ids('event_type=order.created&status=succeeded&subscription=good')).toEqual(['order.created>good']);

    const secondAt = (await api('GET', `/events/${second}`)).body.timestamp as string;
    expect(await ids(`since=${encodeURIComponent(secondAt)}`)).toEqual(['user.signup>good']);
    expect(await ids(`until=${encodeURIComponent(secondAt)}`)).toEqual(['order.created>flaky', 'order.created>good']);

    const page1 = await api('GET', '/deliveries?limit=2');
    expect(page1.body.data).toHaveLength(2);
    const page2 = await api('GET', `/deliveries?limit=2&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
    expect(page2.body.data).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    expect([...page1.body.data, ...page2.body.data].map((d: Json) => d.id)).toEqual(all.body.data.map((d: Json) => d.id));
  });

  it('pages with limit 2 while deliveries keep being created: no duplicates, no gaps', async () => {
    const ok = await receiver();
    relay = await life.relay(
      testConfig({
        auth: { admin_tokens: adminTokens },
        subscriptions: [
          { id: 'a', url: ok.url, signature },
          { id: 'b', url: ok.url, signature },
        ],
      }),
    );
    for (let i = 0; i < 3; i++) await ingest('page.test', { i });
    const existing = (await api('GET', '/deliveries?limit=500')).body.data.map((d: Json) => d.id);
    expect(existing).toHaveLength(6);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: Json } = await api('GET', `/deliveries?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...res.body.data.map((d: Json) => d.id));
      cursor = res.body.next_cursor;
      await ingest('page.test', { late: true });
    } while (cursor !== null);
    expect(seen).toEqual(existing);
    expect((await api('GET', '/deliveries?cursor=not-a-cursor')).status).toBe(400);
  });
});

describe('GET /deliveries/{id}', () => {
  it("shows every attempt: request, the receiver's status, headers and body, duration and error", async () => {
    const bad = await receiver(broken);
    relay = await life.relay(
      testConfig({ auth: { admin_tokens: adminTokens }, subscriptions: [{ id: 'flaky', url: `${bad.url}/hook`, signature }] }),
    );
    const eventId = await ingest('order.created');
    const { id } = await deliveryOf(eventId, 'flaky', settled);
    const { status, body } = await api('GET', `/deliveries/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id,
      event_id: eventId,
      event_type: 'order.created',
      subscription: 'flaky',
      status: 'failed',
      attempts: 3,
    });
    expect(body.last_status_code).toBe(500);
    expect(body.attempt_log).toHaveLength(3);
    body.attempt_log.forEach((a: Json, i: number) => {
      expect(a).toEqual({
        id: expect.stringMatching(/^att_/),
        attempt: i + 1,
        started_at: expect.stringMatching(/Z$/),
        duration_ms: expect.any(Number),
        request: {
          url: `${bad.url}/hook`,
          headers: expect.objectContaining({ 'webhook-id': eventId, 'x-hookrelay-attempt': String(i + 1) }),
        },
        response: { status: 500, headers: expect.objectContaining({ 'x-why': 'database down' }), body: 'try later' },
        error: expect.any(String),
      });
      // The attempt id is the delivery header the receiver saw.
      expect(bad.received[i]!.headers['x-hookrelay-delivery']).toBe(a.id);
    });
  });

  it('shows a null response when nothing answered, and 404 for an unknown delivery', async () => {
    const closed = await receiver();
    const url = closed.url;
    await closed.close();
    relay = await life.relay(testConfig({ auth: { admin_tokens: adminTokens }, subscriptions: [{ id: 'gone', url, signature }] }));
    const { id } = await deliveryOf(await ingest('x.y'), 'gone', settled);
    const { body } = await api('GET', `/deliveries/${id}`);
    expect(body.attempt_log[0]).toMatchObject({ response: null, error: expect.any(String) });
    expect(body.last_status_code).toBeNull();
    const missing = await api('GET', '/deliveries/dlv_nope');
    expect(missing).toMatchObject({ status: 404, body: { status: 404, detail: 'no delivery dlv_nope' } });
  });
});

describe('POST /deliveries/{id}/retry and /cancel', () => {
  it('retries a failed delivery once the receiver is fixed: it succeeds; a succeeded one is 409', async () => {
    const rx = await receiver(broken);
    relay = await life.relay(testConfig({ auth: { admin_tokens: adminTokens }, subscriptions: [{ id: 'flaky', url: rx.url, signature }] }));
    const eventId = await ingest('order.created');
    const { id } = await deliveryOf(eventId, 'flaky', settled);
    rx.setHandler(() => {});
    const res = await api('POST', `/deliveries/${id}/retry`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, event_id: eventId, subscription: 'flaky', attempts: 3 });
    expect(['pending', 'retrying', 'delivering', 'succeeded']).toContain(res.body.status);
    await rx.waitFor((r) => r.length === 4);
    const done = await deliveryOf(eventId, 'flaky', settled);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 4, last_status_code: 200 });
    expect(rx.received[3]!.headers['webhook-id']).toBe(eventId);

    const again = await api('POST', `/deliveries/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe(`cannot retry delivery ${id}: it is succeeded`);
    expect((await api('POST', '/deliveries/dlv_nope/retry')).status).toBe(404);
    const audit = (await api('GET', '/audit')).body.data;
    expect(audit.map((e: Json) => [e.actor, e.action, e.target])).toEqual([['ops', 'delivery.retry', id]]);
  });

  it('cancels a waiting delivery: it becomes cancelled and is never sent', async () => {
    // One attempt in flight at a time: the first event's request hangs, so the second waits.
    let release: (() => void) | undefined;
    const rx = await receiver((_req, res) => new Promise<void>((r) => (release = () => (res.writeHead(200).end(), r()))));
    relay = await life.relay(
      testConfig({ auth: { admin_tokens: adminTokens }, subscriptions: [{ id: 'slow', url: rx.url, max_in_flight: 1, signature }] }),
    );
    const first = await ingest('a.first');
    await rx.waitFor((r) => r.length === 1);
    const second = await ingest('a.second');
    const waiting = await deliveryOf(second, 'slow');
    expect(waiting.status).toBe('pending');

    const res = await api('POST', `/deliveries/${waiting.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: waiting.id, status: 'cancelled', next_attempt_at: null });
    expect((await api('POST', `/deliveries/${waiting.id}/cancel`)).status).toBe(200); // idempotent

    rx.setHandler(() => {});
    release!();
    await deliveryOf(first, 'slow', settled);
    // A third event is claimed after the cancelled one would have been: once it arrives, the second never will.
    const third = await ingest('a.third');
    await rx.waitFor((r) => r.some((x) => x.headers['webhook-id'] === third));
    expect(rx.received.map((x) => x.headers['x-hookrelay-event'])).toEqual(['a.first', 'a.third']);
    expect((await api('GET', `/deliveries/${waiting.id}`)).body).toMatchObject({ status: 'cancelled', attempts: 0, attempt_log: [] });

    const succeeded = await deliveryOf(first, 'slow');
    const conflict = await api('POST', `/deliveries/${succeeded.id}/cancel`);
    expect(conflict).toMatchObject({ status: 409, body: { detail: `cannot cancel delivery ${succeeded.id}: it is succeeded` } });
    expect((await api('POST', '/deliveries/dlv_nope/cancel')).status).toBe(404);
    const audit = (await api('GET', '/audit')).body.data;
    expect(audit.map((e: Json) => [e.actor, e.action, e.target])).toEqual([
      ['ops', 'delivery.cancel', waiting.id],
      ['ops', 'delivery.cancel', waiting.id],
    ]);
  });
});
