import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';
import { closeAfterEach } from './helpers/lifecycle';

let relay: RunningRelay | undefined;
const life = closeAfterEach();

const receiver = life.receiver;

function sub(id: string, url: string, extra: Record<string, unknown> = {}) {
  return { id, url, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET }, ...extra };
}

async function ingest(type: string, data: unknown = {}) {
  const res = await relay!.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function onlyDelivery(eventId: string) {
  const [delivery] = await relay!.store.listDeliveriesOfEvent(eventId);
  return delivery!;
}

async function settled(eventId: string) {
  return relay!.until(async () => {
    const d = await onlyDelivery(eventId);
    return ['succeeded', 'failed', 'cancelled'].includes(d.status) ? d : null;
  });
}

describe('delivery', () => {
  it('sends the envelope with the SPEC headers, signed so standardwebhooks verifies it', async () => {
    const rx = await receiver();
    relay = await life.relay(testConfig({ subscriptions: [sub('billing', `${rx.url}/hooks`, { headers: { 'X-Env': 'prod' } })] }));
    const id = await ingest('payment.completed', { id: 'pay_abc123', amount: '100.00', note: 'naïve ☃' });
    await rx.waitFor((r) => r.length === 1);
    const req = rx.received[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^hookrelay\/\d+\.\d+\.\d+/);
    expect(req.headers['webhook-id']).toBe(id);
    expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(req.headers['x-hookrelay-event']).toBe('payment.completed');
    expect(req.headers['x-hookrelay-delivery']).toMatch(/^att_/);
    expect(req.headers['x-hookrelay-attempt']).toBe('1');
    expect(req.headers['x-env']).toBe('prod');
    const payload = new Webhook(TEST_SECRET).verify(req.body, req.headers) as Record<string, unknown>;
    expect(payload).toEqual({
      id,
      type: 'payment.completed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: { id: 'pay_abc123', amount: '100.00', note: 'naïve ☃' },
    });
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(req.body, req.headers)).toThrow();
    expect((await settled(id)).status).toBe('succeeded');
  });

  it("sends a subscription's headers but keeps their values out of the attempt record", async () => {
    const rx = await receiver();
    relay = await life.relay(
      testConfig({
        subscriptions: [
          sub('creds', rx.url, { headers: { Authorization: 'Bearer receiver-secret-123', 'X-Api-Key': 'k-456', 'X-Env': 'prod' } }),
        ],
      }),
    );
    const delivery = await settled(await ingest('x.y'));
    expect(rx.received[0]!.headers).toMatchObject({ authorization: 'Bearer receiver-secret-123', 'x-api-key': 'k-456' });
    const [attempt] = await relay.store.listAttempts(delivery.id);
    expect(attempt!.requestHeaders).toMatchObject({ authorization: '[redacted]', 'x-api-key': '[redacted]', 'x-env': '[redacted]' });
    expect(attempt!.requestHeaders['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.stringify(attempt)).not.toMatch(/receiver-secret-123|k-456/);
  });

  it('sends only data with payload: data', async () => {
    const rx = await receiver();
    relay = await life.relay(testConfig({ subscriptions: [sub('raw', rx.url, { payload: 'data' })] }));
    await ingest('x.y', { k: [1, 2, 3] });
    await rx.waitFor((r) => r.length === 1);
    expect(rx.received[0]!.body).toBe('{"k":[1,2,3]}');
  });

  it('retries on the schedule until a 2xx, with the same webhook-id and a new attempt id', async () => {
    let calls = 0;
    const rx = await receiver((_req, res) => {
      if (++calls < 3) res.writeHead(500).end('boom');
    });
    relay = await life.relay(
      testConfig({ delivery: { retry_schedule: ['100ms', '200ms'], jitter: 0 }, subscriptions: [sub('s', rx.url)] }),
    );
    const id = await ingest('order.created');
    const delivery = await settled(id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 3 });
    const [a, b, c] = rx.received;
    expect([a, b, c].map((r) => r!.headers['webhook-id'])).toEqual([id, id, id]);
    expect([a, b, c].map((r) => r!.headers['x-hookrelay-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set([a, b, c].map((r) => r!.headers['x-hookrelay-delivery'])).size).toBe(3);
    // Each retry waits at least its scheduled delay (jitter 0).
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(95);
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(195);
    const attempts = await relay.store.listAttempts(delivery.id);
    expect(attempts.map((x) => [x.attempt, x.responseStatus, x.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 500, 'HTTP 500'],
      [3, 200, null],
    ]);
    expect(attempts[0]).toMatchObject({ responseBody: 'boom', requestUrl: `${rx.url}/` });
    expect(attempts[0]!.requestHeaders['webhook-id']).toBe(id);
  });

  it('marks the delivery failed when the schedule is spent', async () => {
    const rx = await receiver((_req, res) => void res.writeHead(503).end());
    relay = await life.relay(testConfig({ subscriptions: [sub('s', rx.url, { retry_schedule: ['20ms', '20ms'] })] }));
    const id = await ingest('a.b');
    expect(await settled(id)).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503 });
    expect(rx.received).toHaveLength(3);
  });

  it('never follows a 3xx and counts it as a failure', async () => {
    const rx = await receiver((req, res) => {
      if (req.path === '/moved') res.writeHead(302, { location: '/target' }).end();
    });
    relay = await life.relay(testConfig({ subscriptions: [sub('s', `${rx.url}/moved`, { retry_schedule: [] })] }));
    const id = await ingest('a.b');
    const delivery = await settled(id);
    expect(delivery.status).toBe('failed');
    expect(rx.received.map((r) => r.path)).toEqual(['/moved']);
    const [attempt] = await relay.store.listAttempts(delivery.id);
    expect(attempt!.error).toMatch(/redirects are not followed.*\/target/);
  });

  it('fails for good on 410 Gone and disables the subscription, across restarts', async () => {
    const rx = await receiver((_req, res) => void res.writeHead(410).end());
    const config = testConfig({ subscriptions: [sub('gone', rx.url)] });
    relay = await life.relay(config);
    const id = await ingest('a.b');
    expect(await settled(id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(relay.app.subscriptions.get('gone')).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
    const next = await relay.post('/ingest', { type: 'a.b' });
    expect(await next.json()).toMatchObject({ deliveries: 0 });
    await relay.stop();
    relay = await life.relay(config);
    expect(relay.app.subscriptions.get('gone')?.enabled).toBe(false);
  });

  it('waits at least Retry-After on 429, clamped to twice the scheduled delay', async () => {
    let calls = 0;
    const rx = await receiver((_req, res) => {
      if (++calls === 1) res.writeHead(429, { 'retry-after': '3600' }).end();
    });
    relay = await life.relay(testConfig({ delivery: { jitter: 0 }, subscriptions: [sub('s', rx.url, { retry_schedule: ['150ms'] })] }));
    const id = await ingest('a.b');
    expect((await settled(id)).status).toBe('succeeded');
    const gap = rx.received[1]!.at - rx.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(295); // Retry-After (1h) clamped to 2 × 150 ms
    expect(gap).toBeLessThan(3_600_000);
  });

  it('ends an attempt that takes longer than its timeout', async () => {
    const rx = await receiver(() => new Promise(() => {})); // never answers
    relay = await life.relay(testConfig({ subscriptions: [sub('slow', rx.url, { timeout: '200ms', retry_schedule: [] })] }));
    const id = await ingest('a.b');
    const delivery = await settled(id);
    expect(delivery.status).toBe('failed');
    const [attempt] = await relay.store.listAttempts(delivery.id);
    expect(attempt).toMatchObject({ responseStatus: null, error: 'timeout after 200 ms' });
  });

  it('keeps at most max_response_body bytes of the answer', async () => {
    const rx = await receiver((_req, res) => void res.writeHead(500).end('y'.repeat(100_000)));
    relay = await life.relay(
      testConfig({ delivery: { max_response_body: '1kb' }, subscriptions: [sub('s', rx.url, { retry_schedule: [] })] }),
    );
    const delivery = await settled(await ingest('a.b'));
    const [attempt] = await relay.store.listAttempts(delivery.id);
    expect(attempt!.responseBody).toBe('y'.repeat(1024));
  });

  it('does not let a dead receiver delay a healthy one', async () => {
    const dead = await receiver(() => new Promise(() => {}));
    const healthy = await receiver();
    relay = await life.relay(
      testConfig({
        delivery: { concurrency: 8 },
        subscriptions: [sub('dead', dead.url, { timeout: '30s', max_in_flight: 4 }), sub('healthy', healthy.url)],
      }),
    );
    const res = await relay.post('/ingest/batch', { events: Array.from({ length: 50 }, (_, i) => ({ type: 'tick', data: { i } })) });
    expect(res.status).toBe(202);
    // Every healthy delivery arrives while the dead receiver holds its 4 attempts open for 30 s.
    await healthy.waitFor((r) => r.length === 50, 10_000);
    expect(dead.received.length).toBeLessThanOrEqual(4);
  });

  it('keeps a dead receiver to its fair part of the global concurrency, even when its max_in_flight allows all of it', async () => {
    const dead = await receiver(() => new Promise(() => {}));
    const healthy = await receiver();
    relay = await life.relay(
      testConfig({
        delivery: { concurrency: 8 },
        subscriptions: [sub('dead', dead.url, { timeout: '30s', max_in_flight: 8 }), sub('healthy', healthy.url, { max_in_flight: 8 })],
      }),
    );
    const res = await relay.post('/ingest/batch', { events: Array.from({ length: 200 }, (_, i) => ({ type: 'tick', data: { i } })) });
    expect(res.status).toBe(202);
    await healthy.waitFor((r) => r.length === 200, 15_000);
    // Two subscriptions compete: the dead one holds at most half of the 8 slots while the healthy
    // one drains, instead of taking each slot the healthy one frees.
    expect(dead.received.length).toBeLessThanOrEqual(4);
  });
});
