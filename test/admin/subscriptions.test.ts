import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, type AdminAnswer } from '../helpers/admin-client';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';

// The subscription routes of the admin API end to end: a real relay on a real SQLite file, a real
// receiver checking signatures with the `standardwebhooks` package, restarts on the same file.

const adminTokens = [
  { name: 'ops', token: 'ops-token-0123456789', scopes: ['read', 'write'] },
  { name: 'viewer', token: 'viewer-token-0123456789', scopes: ['read'] },
];
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

let relay: RunningRelay;
let rx: Receiver;
const ops = adminClient(() => relay.url, 'ops-token-0123456789');
const viewer = adminClient(() => relay.url, 'viewer-token-0123456789');
const anonymous = adminClient(() => relay.url, null);

const config = () =>
  testConfig({
    auth: { admin_tokens: adminTokens },
    subscriptions: [
      { id: 'cfg', url: `${rx.url}/cfg`, events: ['order.*'], signature, timeout: '5s' },
      { id: 'cfg-off', url: `${rx.url}/cfg-off`, enabled: false, signature },
    ],
  });

beforeEach(async () => {
  rx = await startReceiver();
  relay = await startRelay(config());
});
afterEach(async () => {
  await relay.stop();
  await rx.close();
});

/** Stops the relay and starts a new one on the same SQLite file and config. */
async function restart(): Promise<void> {
  const same = relay.config;
  await relay.stop();
  relay = await startRelay(same);
}

async function ingest(type: string, data: unknown = {}): Promise<string> {
  const res = await relay.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const at = (path: string) => (r: Received[]) => r.some((x) => x.path === path);
const to = (path: string) => rx.received.filter((x) => x.path === path);
const paths = (answer: AdminAnswer) => (answer.body.errors as { path: string }[]).map((e) => e.path).sort();
const verifies = (req: Received, secret: string) => {
  try {
    new Webhook(secret).verify(req.body, req.headers);
    return true;
  } catch {
    return false;
  }
};

/** Creates an API subscription delivering to `${rx.url}/<id>`; answers the 201 body. */
async function create(id: string, extra: Record<string, unknown> = {}) {
  const res = await ops('POST', '/subscriptions', { id, url: `${rx.url}/${id}`, ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('auth', () => {
  it('answers 401 without a token and 403 to a read-only token on every write', async () => {
    await create('api');
    expect((await anonymous('GET', '/subscriptions')).status).toBe(401);
    expect((await anonymous('POST', '/subscriptions', { id: 'x', url: 'http://x.test' })).status).toBe(401);
    expect((await viewer('GET', '/subscriptions')).status).toBe(200);
    expect((await viewer('GET', '/subscriptions/api')).status).toBe(200);
    const writes: [string, string, unknown][] = [
      ['POST', '/subscriptions', { id: 'x', url: 'http://x.test' }],
      ['PATCH', '/subscriptions/api', { enabled: false }],
      ['DELETE', '/subscriptions/api', undefined],
      ['POST', '/subscriptions/api/rotate-secret', {}],
      ['POST', '/subscriptions/api/test', undefined],
      ['POST', '/subscriptions/api/recover', { since: '2026-01-01T00:00:00Z' }],
    ];
    for (const [method, path, body] of writes) {
      const res = await viewer(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // Nothing changed.
    expect((await ops('GET', '/subscriptions/api')).body.enabled).toBe(true);
  });
});

describe('GET /subscriptions', () => {
  it('lists config and API subscriptions in id order with source, state and health', async () => {
    await create('api', { events: ['order.created'], signature: { scheme: 'stripe' } });
    await ingest('order.created');
    await rx.waitFor((r) => at('/cfg')(r) && at('/api')(r));
    await relay!.until(async () => (await ops('GET', '/subscriptions/api')).body.health.last_success_at);

    const res = await ops('GET', '/subscriptions');
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.data.map((s: { id: string }) => s.id)).toEqual(['api', 'cfg', 'cfg-off']);
    const [api, cfg, off] = res.body.data;
    expect(api).toMatchObject({
      source: 'api',
      enabled: true,
      disabled_reason: null,
      signature: { scheme: 'stripe', previous_secrets: [] },
    });
    expect(api.health).toEqual({
      last_success_at: expect.any(String),
      last_failure_at: null,
      failure_streak: 0,
      backlog: 0,
      oldest_waiting_at: null,
    });
    expect(api.created_at).toEqual(expect.any(String));
    expect(cfg).toMatchObject({
      source: 'config',
      url: `${rx.url}/cfg`,
      events: ['order.*'],
      timeout: '5s',
      enabled: true,
      payload: 'envelope',
    });
    expect(cfg.created_at).toBeUndefined();
    expect(off).toMatchObject({ source: 'config', enabled: false });
    expect(res.text).not.toContain(TEST_SECRET);
  });

  it('pages by id with an opaque cursor; a bad cursor or limit is a 400 naming the field', async () => {
    await create('a-api', { signature: { scheme: 'none' } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: AdminAnswer = await ops('GET', `/subscriptions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((s: { id: string }) => s.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['a-api', 'cfg', 'cfg-off']);

    const badCursor = await ops('GET', '/subscriptions?cursor=%25%25%25');
    expect(badCursor.status).toBe(400);
    expect(paths(badCursor)).toEqual(['cursor']);
    const badLimit = await ops('GET', '/subscriptions?limit=501');
    expect(badLimit.status).toBe(400);
    expect(paths(badLimit)).toEqual(['limit']);
  });
});

describe('POST /subscriptions', () => {
  it('creates a subscription with a generated secret, shown once, that signs real deliveries', async () => {
    const res = await ops('POST', '/subscriptions', {
      id: 'billing',
      url: `${rx.url}/billing`,
      events: ['invoice.*'],
      retry_schedule: ['1s'],
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/v1/subscriptions/billing');
    expect(res.body).toMatchObject({ id: 'billing', source: 'api', enabled: true, events: ['invoice.*'], retry_schedule: ['1s'] });
    const secret: string = res.body.signature.secret;
    expect(secret).toMatch(/^whsec_/);

    await ingest('invoice.paid', { amount: 5 });
    await ingest('order.created'); // not for billing
    await rx.waitFor(at('/billing'));
    const [req] = to('/billing');
    expect(verifies(req!, secret)).toBe(true);
    expect(JSON.parse(req!.body)).toMatchObject({ type: 'invoice.paid', data: { amount: 5 } });

    const view = await ops('GET', '/subscriptions/billing');
    expect(view.body.signature).toEqual({ scheme: 'standard-webhooks', previous_secrets: [] });
    expect(view.text).not.toContain(secret);

    const audit = await relay.store.listAudit({ limit: 10 });
    const entry = audit.data.find((e) => e.action === 'subscription.create');
    expect(entry).toMatchObject({ actor: 'ops', target: 'billing', details: { secret_generated: true } });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('keeps a given secret, shows an ed25519 public key always, and needs no secret for scheme none', async () => {
    const given = await create('given', { signature: { scheme: 'standard-webhooks', secret: TEST_SECRET } });
    expect(given.signature.secret).toBe(TEST_SECRET);
    const ed = await create('ed', { signature: { scheme: 'ed25519' } });
    expect(ed.signature.secret).toMatch(/^whsk_/);
    expect(ed.signature.public_key).toMatch(/^whpk_/);
    const edView = await ops('GET', '/subscriptions/ed');
    expect(edView.body.signature.public_key).toBe(ed.signature.public_key);
    expect(edView.text).not.toContain(ed.signature.secret);
    const none = await create('plain', { signature: { scheme: 'none' } });
    expect(none.signature).toEqual({ scheme: 'none', previous_secrets: [] });
  });

  it('answers 400 with every invalid field path, as config validation does', async () => {
    const res = await ops('POST', '/subscriptions', {
      id: 'Bad Id',
      url: 'ftp://x.test',
      events: [],
      retry_schedule: ['10'],
      signature: { scheme: 'standard-webhooks', secret: 'nope' },
      filter: { 'data.amount': { $gtt: 1 } },
      colour: 'red',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(paths(res)).toEqual(['colour', 'events', 'filter.data.amount.$gtt', 'id', 'retry_schedule[0]', 'signature.secret', 'url']);
    expect(res.text).not.toContain('"nope"'); // the value is never echoed

    const notObject = await ops('POST', '/subscriptions', [1, 2]);
    expect(notObject.status).toBe(400);
    const malformed = await ops('POST', '/subscriptions', '{"id": ');
    expect(malformed.status).toBe(400);
    const text = await fetch(`${relay.url}/api/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: 'Bearer ops-token-0123456789', 'content-type': 'text/plain' },
      body: JSON.stringify({ id: 'x', url: `${rx.url}/x` }),
    });
    expect(text.status).toBe(415);
    expect(text.headers.get('content-type')).toContain('application/problem+json');
    expect((await ops('GET', '/subscriptions')).body.data).toHaveLength(2);
  });

  it('answers 409 when the id is used by a config or an API subscription', async () => {
    await create('taken');
    const config = await ops('POST', '/subscriptions', { id: 'cfg', url: `${rx.url}/x` });
    expect(config.status).toBe(409);
    expect(config.body.detail).toContain('config');
    const api = await ops('POST', '/subscriptions', { id: 'taken', url: `${rx.url}/y` });
    expect(api.status).toBe(409);
  });

  it('keeps API subscriptions across a restart', async () => {
    const created = await create('durable', { events: ['order.*'], timeout: '3s' });
    await restart();
    const view = await ops('GET', '/subscriptions/durable');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ source: 'api', timeout: '3s', events: ['order.*'] });
    await ingest('order.shipped');
    await rx.waitFor(at('/durable'));
    expect(verifies(to('/durable')[0]!, created.signature.secret)).toBe(true);
  });
});

describe('GET /subscriptions/{id}', () => {
  it('shows a config subscription without its secret, and 404 for an unknown id', async () => {
    const res = await ops('GET', '/subscriptions/cfg');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'cfg',
      source: 'config',
      headers: {},
      ordering: 'none',
      signature: { scheme: 'standard-webhooks' },
    });
    expect(res.text).not.toContain(TEST_SECRET);
    const missing = await ops('GET', '/subscriptions/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('GET /subscriptions/{id}: headers', () => {
  it('shows the headers a subscription adds, with their values redacted', async () => {
    const created = await ops('POST', '/subscriptions', {
      id: 'with-headers',
      url: `${rx.url}/h`,
      headers: { 'X-Env': 'prod', Authorization: 'Bearer receiver-secret', 'X-Partner-Token': 'tok_123' },
    });
    expect(created.status).toBe(201);
    for (const answer of [created, await viewer('GET', '/subscriptions/with-headers')]) {
      expect((answer.body as { headers: unknown }).headers).toEqual({
        'X-Env': '[redacted]',
        Authorization: '[redacted]',
        'X-Partner-Token': '[redacted]',
      });
      expect(answer.text).not.toContain('receiver-secret');
      expect(answer.text).not.toContain('tok_123');
    }
    // The receiver still gets the real values.
    expect((await ops('POST', '/subscriptions/with-headers/test')).status).toBe(202);
    await rx.waitFor(at('/h'));
    expect(to('/h')[0]!.headers.authorization).toBe('Bearer receiver-secret');
  });
});

describe('PATCH /subscriptions/{id}', () => {
  it('disables and enables a config subscription, persisted across restarts', async () => {
    const off = await ops('PATCH', '/subscriptions/cfg', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, disabled_reason: expect.stringContaining('ops') });
    const ingested = await ingest('order.created');
    const deliveries = await relay.store.listDeliveriesOfEvent(ingested);
    expect(deliveries).toEqual([]);

    await restart();
    expect((await ops('GET', '/subscriptions/cfg')).body.enabled).toBe(false);
    const on = await ops('PATCH', '/subscriptions/cfg-off', { enabled: true });
    expect(on.body.enabled).toBe(true);
    await restart();
    expect((await ops('GET', '/subscriptions/cfg-off')).body.enabled).toBe(true);
    expect((await ops('PATCH', '/subscriptions/cfg', { enabled: true })).body.enabled).toBe(true);
    await ingest('order.created');
    await rx.waitFor((r) => at('/cfg')(r) && at('/cfg-off')(r));

    const audit = await relay.store.listAudit({ limit: 10 });
    expect(audit.data.filter((e) => e.action === 'subscription.update').map((e) => e.details)).toContainEqual({ changed: ['enabled'] });
  });

  it('re-enables a subscription disabled by 410 Gone', async () => {
    rx.setHandler((_req, res) => void res.writeHead(410).end('gone'));
    await ingest('order.created');
    const gone = await relay!.until(async () => {
      const view = await ops('GET', '/subscriptions/cfg');
      return view.body.enabled === false && view.body;
    });
    expect(gone.disabled_reason).toEqual(expect.any(String));

    rx.setHandler(() => {});
    const on = await ops('PATCH', '/subscriptions/cfg', { enabled: true });
    expect(on.body).toMatchObject({ enabled: true, disabled_reason: null });
    await ingest('order.created');
    await rx.waitFor((r) => to('/cfg').length === 2 && r.length >= 2);
    await restart();
    expect((await ops('GET', '/subscriptions/cfg')).body.enabled).toBe(true);
  });

  it('refuses any other field of a config subscription with 409', async () => {
    const res = await ops('PATCH', '/subscriptions/cfg', { url: 'https://elsewhere.test', enabled: false });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('declared in the config file; only enabled can change at run time');
    expect((await ops('GET', '/subscriptions/cfg')).body.enabled).toBe(true);
    const badType = await ops('PATCH', '/subscriptions/cfg', { enabled: 'no' });
    expect(badType.status).toBe(400);
    expect(paths(badType)).toEqual(['enabled']);
  });

  it('merges fields into an API subscription, keeps the secret when signature omits it, validates the result', async () => {
    const { signature: created } = await create('api', { events: ['order.*'], description: 'first' });
    const res = await ops('PATCH', '/subscriptions/api', {
      url: `${rx.url}/moved`,
      events: ['invoice.*'],
      description: null,
      signature: { scheme: 'standard-webhooks' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ url: `${rx.url}/moved`, events: ['invoice.*'] });
    expect(res.body.description).toBeUndefined();
    expect(res.text).not.toContain(created.secret);

    await ingest('invoice.paid');
    await rx.waitFor(at('/moved'));
    expect(verifies(to('/moved')[0]!, created.secret)).toBe(true);

    const audit = await relay.store.listAudit({ limit: 10 });
    expect(audit.data.find((e) => e.action === 'subscription.update')!.details).toEqual({ changed: ['description', 'events', 'url'] });

    const invalid = await ops('PATCH', '/subscriptions/api', { url: 'nope', timeout: 'soon', extra: 1 });
    expect(invalid.status).toBe(400);
    expect(paths(invalid)).toEqual(['extra', 'timeout', 'url']);
    const rename = await ops('PATCH', '/subscriptions/api', { id: 'other' });
    expect(rename.status).toBe(400);
    expect(paths(rename)).toEqual(['id']);
    expect((await ops('GET', '/subscriptions/api')).body.url).toBe(`${rx.url}/moved`);
    expect((await ops('PATCH', '/subscriptions/nope', { enabled: false })).status).toBe(404);
  });

  it('disables an API subscription, persisted across restarts', async () => {
    await create('api');
    expect((await ops('PATCH', '/subscriptions/api', { enabled: false })).body.enabled).toBe(false);
    await restart();
    expect((await ops('GET', '/subscriptions/api')).body.enabled).toBe(false);
    const ingested = await ingest('anything');
    expect((await relay.store.listDeliveriesOfEvent(ingested)).map((d) => d.subscriptionId)).toEqual([]);
  });
});

describe('DELETE /subscriptions/{id}', () => {
  it('deletes an API subscription and cancels its waiting deliveries; config ones 409', async () => {
    rx.setHandler((_req, res) => void res.writeHead(503).end());
    await create('api', { retry_schedule: ['1h'] });
    const eventId = await ingest('order.created');
    const waiting = async () =>
      (await relay.store.listDeliveriesOfEvent(eventId)).find((d) => d.subscriptionId === 'api' && d.status === 'retrying');
    await relay!.until(waiting);
    const del = await ops('DELETE', '/subscriptions/api');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await ops('GET', '/subscriptions/api')).status).toBe(404);
    expect((await ops('DELETE', '/subscriptions/api')).status).toBe(404);
    const [delivery] = (await relay.store.listDeliveriesOfEvent(eventId)).filter((d) => d.subscriptionId === 'api');
    expect(delivery!.status).toBe('cancelled');

    const config = await ops('DELETE', '/subscriptions/cfg');
    expect(config.status).toBe(409);
    expect(config.body.detail).toContain('config file');
    await restart();
    expect((await ops('GET', '/subscriptions')).body.data.map((s: { id: string }) => s.id)).toEqual(['cfg', 'cfg-off']);
  });
});

describe('DELETE /subscriptions/{id} with an attempt in flight', () => {
  it('records the attempt and cancels the delivery instead of leaving it waiting forever', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    rx.setHandler(() => held);
    await create('api');
    const eventId = await ingest('order.created');
    await rx.waitFor((r) => r.some((x) => x.path === '/api'));
    expect((await ops('DELETE', '/subscriptions/api')).status).toBe(204);
    release();
    const delivery = await relay!.until(async () => {
      const d = (await relay.store.listDeliveriesOfEvent(eventId)).find((x) => x.subscriptionId === 'api');
      return d?.status === 'cancelled' ? d : null;
    });
    expect(await relay.store.listAttempts(delivery.id)).toEqual([expect.objectContaining({ attempt: 1, responseStatus: 200 })]);
    expect((await relay.store.getSubscriptionStates()).map((s) => s.id)).not.toContain('api');
  });
});

describe('POST /subscriptions/{id}/rotate-secret', () => {
  it('signs with the new and the old secret until the old one expires', async () => {
    const { signature: created } = await create('api');
    const res = await ops('POST', '/subscriptions/api/rotate-secret', { keep_old_for: '1h' });
    expect(res.status).toBe(200);
    const next: string = res.body.secret;
    expect(next).toMatch(/^whsec_/);
    expect(next).not.toBe(created.secret);
    expect(res.body.previous_secrets).toHaveLength(1);
    const expires = Date.parse(res.body.previous_secrets[0].expires);
    expect(expires).toBeGreaterThan(Date.now() + 59 * 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 60 * 60_000);

    await ingest('order.created');
    await rx.waitFor(at('/api'));
    const [req] = to('/api');
    expect(req!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifies(req!, next)).toBe(true);
    expect(verifies(req!, created.secret)).toBe(true);
    // Each signature verifies with its own secret.
    const [first, second] = req!.headers['webhook-signature']!.split(' ');
    expect(verifies({ ...req!, headers: { ...req!.headers, 'webhook-signature': first! } }, next)).toBe(true);
    expect(verifies({ ...req!, headers: { ...req!.headers, 'webhook-signature': second! } }, created.secret)).toBe(true);

    for (const view of [await ops('GET', '/subscriptions/api'), await ops('GET', '/subscriptions')]) {
      expect(view.text).not.toContain(next);
      expect(view.text).not.toContain(created.secret);
    }
    const audit = await relay.store.listAudit({ limit: 10 });
    expect(audit.data.find((e) => e.action === 'subscription.rotate_secret')).toBeDefined();
    expect(JSON.stringify(audit)).not.toContain(next);
  });

  it('takes a given secret, validated for the scheme; refuses config, scheme none and unknown ids', async () => {
    await create('api');
    const bad = await ops('POST', '/subscriptions/api/rotate-secret', { secret: 'not-a-whsec' });
    expect(bad.status).toBe(400);
    expect(paths(bad)).toEqual(['secret']);
    const badKeep = await ops('POST', '/subscriptions/api/rotate-secret', { keep_old_for: 'a while' });
    expect(badKeep.status).toBe(400);
    expect(paths(badKeep)).toEqual(['keep_old_for']);
    const given = await ops('POST', '/subscriptions/api/rotate-secret', { secret: TEST_SECRET });
    expect(given.status).toBe(200);
    expect(given.body.secret).toBe(TEST_SECRET);

    const config = await ops('POST', '/subscriptions/cfg/rotate-secret', {});
    expect(config.status).toBe(409);
    expect(config.body.detail).toContain('previous_secrets');
    await create('plain', { signature: { scheme: 'none' } });
    expect((await ops('POST', '/subscriptions/plain/rotate-secret', {})).status).toBe(409);
    expect((await ops('POST', '/subscriptions/nope/rotate-secret', {})).status).toBe(404);
  });
});

describe('POST /subscriptions/{id}/test', () => {
  it('sends a hookrelay.test event to that subscription only, even if its patterns do not match', async () => {
    const res = await ops('POST', '/subscriptions/cfg/test');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ event_id: expect.stringMatching(/^evt_/), delivery_id: expect.stringMatching(/^dlv_/) });
    await rx.waitFor(at('/cfg'));
    const [req] = to('/cfg');
    expect(verifies(req!, TEST_SECRET)).toBe(true);
    expect(req!.headers['webhook-id']).toBe(res.body.event_id);
    expect(JSON.parse(req!.body)).toMatchObject({
      type: 'hookrelay.test',
      test: true,
      data: { message: 'test event from hookrelay', subscription: 'cfg' },
    });
    // Flagged as a test (SPEC 5), in the header too; and a test event is not replayed.
    expect(req!.headers['x-hookrelay-test']).toBe('true');
    expect((await ops('GET', `/events/${res.body.event_id}`)).body.test).toBe(true);
    expect((await ops('POST', `/events/${res.body.event_id}/replay`, {})).status).toBe(409);
    const deliveries = await relay.store.listDeliveriesOfEvent(res.body.event_id);
    // One delivery only: 'cfg-off' (all events, but disabled) and nothing else got the event.
    expect(deliveries.map((d) => [d.id, d.subscriptionId])).toEqual([[res.body.delivery_id, 'cfg']]);
    expect(rx.received.map((r) => r.path)).toEqual(['/cfg']);
  });

  it('answers 409 for a disabled subscription and 404 for an unknown one', async () => {
    const disabled = await ops('POST', '/subscriptions/cfg-off/test');
    expect(disabled.status).toBe(409);
    expect(disabled.body.detail).toContain('disabled');
    expect((await ops('POST', '/subscriptions/nope/test')).status).toBe(404);
  });
});

describe('POST /subscriptions/{id}/recover', () => {
  it('retries the failed deliveries of the window once the receiver is fixed', async () => {
    rx.setHandler((_req, res) => void res.writeHead(500).end('down'));
    await create('flaky', { retry_schedule: [] });
    const since = new Date(Date.now() - 1000).toISOString();
    const events = [await ingest('a.b'), await ingest('c.d')];
    const failed = async () => {
      const all = await Promise.all(events.map((e) => relay.store.listDeliveriesOfEvent(e)));
      return all.flat().filter((d) => d.subscriptionId === 'flaky' && d.status === 'failed').length === 2;
    };
    await relay!.until(failed);
    const health = (await ops('GET', '/subscriptions/flaky')).body.health;
    expect(health).toMatchObject({ failure_streak: 2, last_failure_at: expect.any(String), backlog: 0 });

    rx.setHandler(() => {});
    const before = to('/flaky').length;
    const res = await ops('POST', '/subscriptions/flaky/recover', { since });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ recovered: 2 });
    await rx.waitFor(() => to('/flaky').length === before + 2);
    await relay!.until(async () => (await ops('GET', '/subscriptions/flaky')).body.health.failure_streak === 0);
  });

  it('answers 400 for an empty or invalid window and 404 for an unknown subscription', async () => {
    const empty = await ops('POST', '/subscriptions/cfg/recover', { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' });
    expect(empty.status).toBe(400);
    expect(paths(empty)).toEqual(['until']);
    const invalid = await ops('POST', '/subscriptions/cfg/recover', { since: 'yesterday' });
    expect(invalid.status).toBe(400);
    expect(paths(invalid)).toEqual(['since']);
    expect((await ops('POST', '/subscriptions/nope/recover', { since: '2026-01-01T00:00:00Z' })).status).toBe(404);
    expect((await ops('POST', '/subscriptions/cfg/recover', { since: '2020-01-01T00:00:00Z' })).body).toEqual({ recovered: 0 });
  });
});

describe('secrets', () => {
  it('appear only in the create and rotate answers', async () => {
    const secrets = [TEST_SECRET];
    const shown: string[] = [];
    const keep = (res: AdminAnswer) => (shown.push(res.text), res);
    secrets.push((await create('one')).signature.secret, (await create('two', { signature: { scheme: 'ed25519' } })).signature.secret);
    secrets.push((await ops('POST', '/subscriptions/one/rotate-secret', {})).body.secret);
    secrets.push((await ops('POST', '/subscriptions/two/rotate-secret', {})).body.secret);
    keep(await ops('GET', '/subscriptions'));
    keep(await viewer('GET', '/subscriptions?limit=1'));
    for (const id of ['one', 'two', 'cfg']) keep(await ops('GET', `/subscriptions/${id}`));
    keep(await ops('PATCH', '/subscriptions/one', { description: 'changed', signature: { scheme: 'standard-webhooks' } }));
    keep(await ops('PATCH', '/subscriptions/two', { enabled: false }));
    keep(await ops('PATCH', '/subscriptions/cfg', { enabled: false }));
    keep(await ops('PATCH', '/subscriptions/one', { timeout: 'never' }));
    keep(await ops('GET', '/openapi.json'));
    const audit = JSON.stringify(await relay.store.listAudit({ limit: 100 }));
    for (const secret of secrets) {
      for (const text of [...shown, audit]) expect(text).not.toContain(secret);
    }
  });
});

describe('OpenAPI', () => {
  it('describes every subscription route with its request and response schemas', async () => {
    const doc = (await ops('GET', '/openapi.json')).body;
    const ops_ = [
      ['/subscriptions', 'get'],
      ['/subscriptions', 'post'],
      ['/subscriptions/{id}', 'get'],
      ['/subscriptions/{id}', 'patch'],
      ['/subscriptions/{id}', 'delete'],
      ['/subscriptions/{id}/rotate-secret', 'post'],
      ['/subscriptions/{id}/test', 'post'],
      ['/subscriptions/{id}/recover', 'post'],
    ] as const;
    for (const [path, method] of ops_) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '403']));
    }
    expect(doc.paths['/subscriptions'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SubscriptionInput',
    );
    expect(doc.components.schemas.SubscriptionInput.properties.url).toBeDefined();
    expect(doc.components.schemas.Subscription.properties.signature).toBeDefined();
  });
});

describe('headers read back and PATCHed', () => {
  it('keep the stored value of a header sent back as [redacted], and take every other value as given', async () => {
    const created = await ops('POST', '/subscriptions', {
      id: 'creds',
      url: `${rx.url}/creds`,
      headers: { Authorization: 'Bearer s3cret-for-the-receiver', 'X-Env': 'prod' },
    });
    expect(created.status).toBe(201);
    const shown = (await ops('GET', '/subscriptions/creds')).body.headers;
    expect(shown).toEqual({ Authorization: '[redacted]', 'X-Env': '[redacted]' });
    const patched = await ops('PATCH', '/subscriptions/creds', { headers: { ...shown, 'X-Env': 'staging', 'X-New': 'yes' } });
    expect(patched.status).toBe(200);
    await ingest('order.created');
    await rx.waitFor(at('/creds'));
    expect(to('/creds')[0]!.headers).toMatchObject({ authorization: 'Bearer s3cret-for-the-receiver', 'x-env': 'staging', 'x-new': 'yes' });
  });
});
