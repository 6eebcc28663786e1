import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, type AdminCall } from './helpers/admin-client';
import { type Receiver, startReceiver } from './helpers/receiver';
import { startRelay, testConfig, type RunningRelay } from './helpers/relay';

/*
 * Tenants end to end (SPEC 9, first slice): tenant records over the admin API, the `tenants`
 * scope, subscriptions that belong to a tenant, and ingest fan-out by tenant, against a real relay
 * and real receivers.
 */

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const PROVISIONER = 'provisioner-token-0123456789';
const INGEST = 'ingest-token-0123456789';

let relay: RunningRelay;
let ops: AdminCall;
let viewer: AdminCall;
let provisioner: AdminCall;

beforeEach(async () => {
  relay = await startRelay(
    testConfig({
      auth: {
        ingest_tokens: [INGEST],
        admin_tokens: [
          { name: 'ops', token: OPS, scopes: ['read', 'write'] },
          { name: 'viewer', token: VIEWER, scopes: ['read'] },
          { name: 'provisioner', token: PROVISIONER, scopes: ['tenants'] },
        ],
      },
      // Tenants' endpoints are held to the blocked ranges whatever delivery.* says (SPEC 9): the receivers are on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
    }),
  );
  ops = adminClient(() => relay.url, OPS);
  viewer = adminClient(() => relay.url, VIEWER);
  provisioner = adminClient(() => relay.url, PROVISIONER);
});
afterEach(async () => {
  await relay.stop();
});

describe('tenant records', () => {
  it('PUT creates (201), replaces (200) clearing omitted fields, and GET shows the record with its counts', async () => {
    const created = await ops('PUT', '/tenants/acct_42', {
      name: 'Acme',
      metadata: { plan: 'pro' },
      enabled: false,
      limits: { max_subscriptions: 5, ingest_rate: '100/s' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/tenants/acct_42');
    expect(created.body).toMatchObject({
      id: 'acct_42',
      name: 'Acme',
      metadata: { plan: 'pro' },
      enabled: false,
      limits: { max_subscriptions: 5, ingest_rate: '100/s' },
      state: 'active',
      subscriptions: 0,
      backlog: 0,
      failing: 0,
    });

    const replaced = await ops('PUT', '/tenants/acct_42', { name: 'Acme Inc' });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      name: 'Acme Inc',
      metadata: null,
      enabled: true,
      limits: { max_subscriptions: null, ingest_rate: null },
      created_at: created.body.created_at,
    });
    expect((await ops('GET', '/tenants/acct_42')).body).toEqual(replaced.body);
    expect((await ops('GET', '/tenants/acct_43')).status).toBe(404);

    const audit = await ops('GET', '/audit');
    expect(audit.body.data.filter((e: { action: string }) => e.action === 'tenant.put').map((e: { target: string }) => e.target)).toEqual([
      'acct_42',
      'acct_42',
    ]);
  });

  it('refuses an invalid id, body or metadata over 8kb with 400, and answers 409 while the tenant is erased', async () => {
    expect((await ops('PUT', '/tenants/-bad', {})).status).toBe(400);
    expect((await ops('PUT', `/tenants/${'a'.repeat(129)}`, {})).status).toBe(400);
    expect((await ops('PUT', '/tenants/a%20b', {})).status).toBe(400);
    expect((await ops('PUT', '/tenants/acct_1', { unknown: 1 })).status).toBe(400);
    expect((await ops('PUT', '/tenants/acct_1', { limits: { ingest_rate: 'fast' } })).status).toBe(400);
    const big = await ops('PUT', '/tenants/acct_1', { metadata: { blob: 'x'.repeat(8 * 1024) } });
    expect(big.status).toBe(400);
    expect(big.body.errors[0].path).toBe('metadata');
    expect((await ops('PUT', '/tenants/acct_1', { metadata: { blob: 'x'.repeat(8 * 1024 - 20) } })).status).toBe(201);

    // Erasure is not built yet: mark the record as it will, and PUT must not touch it.
    await relay.store.putTenant({ id: 'acct_9', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, 1);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(relay.config.storage.sqlite!.path);
    db.prepare(`UPDATE tenants SET state = 'erasing' WHERE id = 'acct_9'`).run();
    db.close();
    const erasing = await ops('PUT', '/tenants/acct_9', { name: 'again' });
    expect(erasing.status).toBe(409);
    expect((await ops('GET', '/tenants/acct_9')).body).toMatchObject({ name: null, state: 'erasing' });
  });

  it('lists tenants in id order with a cursor and an id prefix', async () => {
    for (const id of ['acct_2', 'acct_1', 'other', 'acct_3']) expect((await provisioner('PUT', `/tenants/${id}`, {})).status).toBe(201);
    const first = await ops('GET', '/tenants?limit=2');
    expect(first.body.data.map((t: { id: string }) => t.id)).toEqual(['acct_1', 'acct_2']);
    const second = await ops('GET', `/tenants?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toMatchObject({ data: [{ id: 'acct_3' }, { id: 'other' }], next_cursor: null });
    const prefixed = await ops('GET', '/tenants?q=acct_&limit=10');
    expect(prefixed.body.data.map((t: { id: string }) => t.id)).toEqual(['acct_1', 'acct_2', 'acct_3']);
    expect((await ops('GET', '/tenants?cursor=bogus')).status).toBe(400);
    expect((await ops('GET', '/tenants?q=a%20b')).status).toBe(400);
  });

  it('lets write or tenants tokens use the tenant routes; a tenants-only token gets 403 everywhere else but /whoami', async () => {
    expect((await provisioner('PUT', '/tenants/acct_1', {})).status).toBe(201);
    expect((await provisioner('GET', '/tenants')).status).toBe(200);
    expect((await provisioner('GET', '/tenants/acct_1')).status).toBe(200);
    expect((await ops('GET', '/tenants/acct_1')).status).toBe(200);
    // read alone is not enough for the tenant routes, GET included.
    expect((await viewer('GET', '/tenants')).status).toBe(403);
    expect((await viewer('PUT', '/tenants/acct_2', {})).status).toBe(403);

    for (const [method, path] of [
      ['GET', '/subscriptions'],
      ['POST', '/subscriptions'],
      ['GET', '/events'],
      ['GET', '/deliveries'],
      ['GET', '/stats'],
      ['GET', '/audit'],
      ['POST', '/reload'],
      ['GET', '/openapi.json'],
    ] as const) {
      const answer = await provisioner(method, path, method === 'POST' ? {} : undefined);
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
    // It may still ask what it is.
    const me = await provisioner('GET', '/whoami');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'provisioner', scopes: ['tenants'] });
  });

  it('describes the tenant routes in the OpenAPI document', async () => {
    const doc = (await ops('GET', '/openapi.json')).body;
    expect(doc.paths['/tenants/{tenant}'].put.operationId).toBe('putTenant');
    expect(doc.paths['/tenants/{tenant}'].get.operationId).toBe('getTenant');
    expect(doc.paths['/tenants'].get.operationId).toBe('listTenants');
  });
});

describe('subscriptions of a tenant', () => {
  it('creates a subscription owned by a tenant with a generated sub_ id, shows its tenant, and refuses to change it', async () => {
    await ops('PUT', '/tenants/acct_42', {});
    const created = await ops('POST', '/subscriptions', { tenant: 'acct_42', url: 'https://t.example/hooks' });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^sub_[0-9a-z]{26}$/);
    expect(created.body).toMatchObject({ tenant: 'acct_42', source: 'api' });
    const id = created.body.id as string;
    expect((await ops('GET', `/subscriptions/${id}`)).body.tenant).toBe('acct_42');

    const platform = await ops('POST', '/subscriptions', { id: 'platform', url: 'https://p.example/hooks' });
    expect(platform.body.tenant).toBeNull();

    const patched = await ops('PATCH', `/subscriptions/${id}`, { tenant: 'acct_43' });
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].path).toBe('tenant');
    expect((await ops('PATCH', `/subscriptions/${id}`, { tenant: 'acct_42' })).status).toBe(400);
    expect((await ops('PATCH', `/subscriptions/${id}`, { description: 'still mine' })).body).toMatchObject({
      tenant: 'acct_42',
      description: 'still mine',
    });

    const counts = (await ops('GET', '/tenants/acct_42')).body;
    expect(counts).toMatchObject({ subscriptions: 1, backlog: 0, failing: 0 });
  });

  it('answers 404 for a tenant without a record and 400 for an invalid tenant id', async () => {
    const missing = await ops('POST', '/subscriptions', { tenant: 'acct_none', url: 'https://t.example/hooks' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    const invalid = await ops('POST', '/subscriptions', { tenant: '-bad', url: 'https://t.example/hooks' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toBe('tenant');
    expect((await ops('GET', '/subscriptions')).body.data).toEqual([]);
  });

  it('lists one tenant with ?tenant=, and the platform only with ?tenant= left empty', async () => {
    await ops('PUT', '/tenants/acct_1', {});
    await ops('PUT', '/tenants/acct_2', {});
    await ops('POST', '/subscriptions', { id: 'one-a', tenant: 'acct_1', url: 'https://1.example/a' });
    await ops('POST', '/subscriptions', { id: 'one-b', tenant: 'acct_1', url: 'https://1.example/b' });
    await ops('POST', '/subscriptions', { id: 'two', tenant: 'acct_2', url: 'https://2.example/' });
    await ops('POST', '/subscriptions', { id: 'plat', url: 'https://p.example/' });
    const ids = async (query: string) => (await ops('GET', `/subscriptions${query}`)).body.data.map((s: { id: string }) => s.id);
    expect(await ids('')).toEqual(['one-a', 'one-b', 'plat', 'two']);
    expect(await ids('?tenant=acct_1')).toEqual(['one-a', 'one-b']);
    expect(await ids('?tenant=acct_2')).toEqual(['two']);
    expect(await ids('?tenant=')).toEqual(['plat']);
    expect(await ids('?tenant=acct_none')).toEqual([]);
    const paged = await ops('GET', '/subscriptions?tenant=acct_1&limit=1');
    expect(
      (await ops('GET', `/subscriptions?tenant=acct_1&limit=1&cursor=${paged.body.next_cursor}`)).body.data.map(
        (s: { id: string }) => s.id,
      ),
    ).toEqual(['one-b']);
    expect((await ops('GET', '/subscriptions?tenant=-bad')).status).toBe(400);
  });

  it('refuses config subscription ids that start with sub_', () => {
    expect(() => testConfig({ subscriptions: [{ id: 'sub_mine', url: 'https://x.example/' }] })).toThrow(/sub_/);
  });
});

describe('ingest with a tenant', () => {
  let platform: Receiver;
  let one: Receiver;
  let two: Receiver;
  const ingest = (body: unknown, headers: Record<string, string> = {}) =>
    relay.post('/ingest', body, { authorization: `Bearer ${INGEST}`, ...headers });
  const subscriptionsOf = async (eventId: string) => (await relay.store.listDeliveriesOfEvent(eventId)).map((d) => d.subscriptionId).sort();

  beforeEach(async () => {
    [platform, one, two] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    await ops('PUT', '/tenants/acct_1', {});
    await ops('PUT', '/tenants/acct_2', {});
    expect((await ops('POST', '/subscriptions', { id: 'plat', url: `${platform.url}/p`, events: ['order.*'] })).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'one', tenant: 'acct_1', url: `${one.url}/1`, events: ['order.*'] })).status).toBe(
      201,
    );
    expect(
      (
        await ops('POST', '/subscriptions', {
          id: 'one-data',
          tenant: 'acct_1',
          url: `${one.url}/data`,
          events: ['order.paid'],
          payload: 'data',
        })
      ).status,
    ).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'two', tenant: 'acct_2', url: `${two.url}/2`, events: ['*'] })).status).toBe(201);
  });
  afterEach(async () => {
    await Promise.all([platform.close(), one.close(), two.close()]);
  });

  it("fans an event out to its tenant's matching subscriptions and the platform's, with the tenant in the envelope and a header", async () => {
    const res = await ingest({ type: 'order.created', tenant: 'acct_1', data: { n: 1 } });
    expect(res.status).toBe(202);
    const { id, deliveries } = (await res.json()) as { id: string; deliveries: number };
    expect(deliveries).toBe(2);
    expect(await subscriptionsOf(id)).toEqual(['one', 'plat']);
    await Promise.all([platform.waitFor((r) => r.length === 1), one.waitFor((r) => r.length === 1)]);
    for (const received of [platform.received[0]!, one.received[0]!]) {
      expect(received.body).toMatch(
        new RegExp(`^\\{"id":"${id}","type":"order.created","timestamp":"[^"]+","tenant":"acct_1","data":\\{"n":1\\}\\}$`),
      );
      expect(received.headers['x-hookrelay-tenant']).toBe('acct_1');
    }
    expect(two.received).toEqual([]);

    // payload: data sends the data alone, and still says whose event it is.
    const paid = (await (await ingest({ type: 'order.paid', tenant: 'acct_1', data: { n: 2 } })).json()) as { id: string };
    expect(await subscriptionsOf(paid.id)).toEqual(['one', 'one-data', 'plat']);
    await one.waitFor((r) => r.some((x) => x.path === '/data'));
    const data = one.received.find((x) => x.path === '/data')!;
    expect(data.body).toBe('{"n":2}');
    expect(data.headers['x-hookrelay-tenant']).toBe('acct_1');
  });

  it('reaches platform subscriptions only for an event without tenant or of a tenant without a record', async () => {
    const plain = (await (await ingest({ type: 'order.created' })).json()) as { id: string; deliveries: number };
    expect(plain.deliveries).toBe(1);
    expect(await subscriptionsOf(plain.id)).toEqual(['plat']);
    await platform.waitFor((r) => r.length === 1);
    expect(platform.received[0]!.headers['x-hookrelay-tenant']).toBeUndefined();
    expect(JSON.parse(platform.received[0]!.body)).not.toHaveProperty('tenant');

    const res = await ingest({ type: 'order.created', tenant: 'acct_unknown' });
    expect(res.status).toBe(202);
    const unknown = (await res.json()) as { id: string; deliveries: number };
    expect(unknown.deliveries).toBe(1);
    expect(await subscriptionsOf(unknown.id)).toEqual(['plat']);
    expect((await relay.store.getEvent(unknown.id))?.tenant).toBe('acct_unknown');
  });

  it('stores the events of a disabled tenant without its own deliveries, and refuses an erasing tenant with 409', async () => {
    await ops('PUT', '/tenants/acct_1', { enabled: false });
    const off = (await (await ingest({ type: 'order.created', tenant: 'acct_1' })).json()) as { id: string; deliveries: number };
    expect(off.deliveries).toBe(1);
    expect(await subscriptionsOf(off.id)).toEqual(['plat']);
    const batch = await relay.post(
      '/ingest/batch',
      {
        events: [
          { type: 'order.created', tenant: 'acct_1' },
          { type: 'order.created', tenant: 'acct_2' },
        ],
      },
      { authorization: `Bearer ${INGEST}` },
    );
    expect(((await batch.json()) as { events: { deliveries: number }[] }).events.map((e) => e.deliveries)).toEqual([1, 2]);

    await ops('PUT', '/tenants/acct_1', { enabled: true });
    expect(((await (await ingest({ type: 'order.created', tenant: 'acct_1' })).json()) as { deliveries: number }).deliveries).toBe(2);

    // Erasure is not built yet: mark the record as it will.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(relay.config.storage.sqlite!.path);
    db.prepare(`UPDATE tenants SET state = 'erasing' WHERE id = 'acct_2'`).run();
    db.close();
    const erasing = await ingest({ id: 'evt_erased', type: 'order.created', tenant: 'acct_2' });
    expect(erasing.status).toBe(409);
    expect(erasing.headers.get('content-type')).toBe('application/problem+json');
    expect(await relay.store.getEvent('evt_erased')).toBeNull();
    const mixed = await relay.post(
      '/ingest/batch',
      {
        events: [
          { id: 'evt_mixed', type: 'order.created' },
          { type: 'order.created', tenant: 'acct_2' },
        ],
      },
      { authorization: `Bearer ${INGEST}` },
    );
    expect(mixed.status).toBe(409);
    expect(await relay.store.getEvent('evt_mixed')).toBeNull();
  });

  it("refuses the relay's own hookrelay.* types on /ingest and /ingest/batch, and an invalid tenant", async () => {
    const single = await ingest({ type: 'hookrelay.test' });
    expect(single.status).toBe(400);
    expect(((await single.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('type');
    const batch = await relay.post(
      '/ingest/batch',
      { events: [{ type: 'order.created' }, { type: 'hookrelay.subscription.disabled' }] },
      { authorization: `Bearer ${INGEST}` },
    );
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('events[1].type');
    const invalid = await ingest({ type: 'order.created', tenant: 'bad tenant' });
    expect(invalid.status).toBe(400);
    expect((await relay.store.listEvents({ limit: 10 })).data).toEqual([]);
  });

  it('judges idempotency on the tenant too', async () => {
    const first = await ingest({ id: 'evt_same', type: 'order.created', tenant: 'acct_1', data: { n: 1 } });
    expect(first.status).toBe(202);
    expect((await ingest({ id: 'evt_same', type: 'order.created', tenant: 'acct_1', data: { n: 1 } })).status).toBe(200);
    expect((await ingest({ id: 'evt_same', type: 'order.created', tenant: 'acct_2', data: { n: 1 } })).status).toBe(409);
    expect((await ingest({ id: 'evt_same', type: 'order.created', data: { n: 1 } })).status).toBe(409);
    expect((await ingest({ type: 'order.created', tenant: 'acct_2' }, { 'idempotency-key': 'evt_same' })).status).toBe(409);
  });

  it('lists events and deliveries by tenant, and shows the tenant of each', async () => {
    const a = (await (await ingest({ type: 'order.created', tenant: 'acct_1' })).json()) as { id: string };
    const p = (await (await ingest({ type: 'order.created' })).json()) as { id: string };
    const events = async (query: string) => (await ops('GET', `/events${query}`)).body.data.map((e: { id: string }) => e.id);
    expect(await events('?tenant=acct_1')).toEqual([a.id]);
    expect(await events('?tenant=')).toEqual([p.id]);
    expect(await events('?tenant=acct_2')).toEqual([]);
    expect(await events('')).toEqual([p.id, a.id]);

    const detail = (await ops('GET', `/events/${a.id}`)).body;
    expect(detail).toMatchObject({ id: a.id, tenant: 'acct_1' });
    expect(detail.deliveries.map((d: { tenant: string }) => d.tenant)).toEqual(['acct_1', 'acct_1']);
    // SPEC 8: platform events show `tenant: null`, and so do their deliveries.
    const platform = (await ops('GET', `/events/${p.id}`)).body;
    expect(platform.tenant).toBeNull();
    expect(platform.deliveries.map((d: { tenant: string | null }) => d.tenant)).toEqual([null]);

    const deliveries = (await ops('GET', '/deliveries?tenant=acct_1')).body.data;
    expect(
      deliveries.map((d: { event_id: string; subscription: string; tenant: string }) => [d.event_id, d.subscription, d.tenant]).sort(),
    ).toEqual([
      [a.id, 'one', 'acct_1'],
      [a.id, 'plat', 'acct_1'],
    ]);
    expect((await ops('GET', '/deliveries?tenant=')).body.data.map((d: { event_id: string }) => d.event_id)).toEqual([p.id]);
    const one = (await ops('GET', `/deliveries/${deliveries[0].id}`)).body;
    expect(one.tenant).toBe('acct_1');

    // The tenant's counts: its subscriptions, nothing failing.
    expect((await ops('GET', '/tenants/acct_1')).body).toMatchObject({ subscriptions: 2, failing: 0 });
  });
});
