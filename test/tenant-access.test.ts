import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, type AdminCall } from './helpers/admin-client';
import { type Receiver, startReceiver } from './helpers/receiver';
import { startRelay, testConfig, type RunningRelay } from './helpers/relay';

/*
 * Tenant tokens and what a tenant credential sees on /api/v1 (SPEC 9), against a real relay: two
 * tenants, each with a subscription and events, a platform subscription and a platform event.
 */

const OPS = 'ops-token-0123456789';
const INGEST = 'ingest-token-0123456789';

let relay: RunningRelay;
let receiver: Receiver;
let ops: AdminCall;
/** A's token, read and write. */
let a: AdminCall;
let aToken: string;
const ids = {} as {
  aSub: string;
  bSub: string;
  aEvent: string;
  bEvent: string;
  platEvent: string;
  aDelivery: string;
  bDelivery: string;
  platDelivery: string;
};

const ingest = async (body: unknown) => {
  const res = await relay.post('/ingest', body, { authorization: `Bearer ${INGEST}` });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};

async function issue(tenant: string, body: Record<string, unknown> = { name: 'ci', scopes: ['read', 'write'] }) {
  const res = await ops('POST', `/tenants/${tenant}/tokens`, body);
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string };
}

beforeEach(async () => {
  receiver = await startReceiver();
  relay = await startRelay(
    testConfig({
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      // Tenants' endpoints are held to the blocked ranges whatever delivery.* says (SPEC 9): the receiver is on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
    }),
  );
  ops = adminClient(() => relay.url, OPS);
  for (const t of ['acct_a', 'acct_b']) expect((await ops('PUT', `/tenants/${t}`, {})).status).toBe(201);
  ids.aSub = (await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `${receiver.url}/a` })).body.id;
  ids.bSub = (await ops('POST', '/subscriptions', { tenant: 'acct_b', url: `${receiver.url}/b` })).body.id;
  expect((await ops('POST', '/subscriptions', { id: 'plat', url: `${receiver.url}/p` })).status).toBe(201);
  ids.aEvent = await ingest({ type: 'order.created', tenant: 'acct_a', data: { n: 1 } });
  ids.bEvent = await ingest({ type: 'order.created', tenant: 'acct_b', data: { n: 2 } });
  ids.platEvent = await ingest({ type: 'order.created', data: { n: 3 } });
  const deliveryTo = async (event: string, sub: string) =>
    (await relay.store.listDeliveriesOfEvent(event)).find((d) => d.subscriptionId === sub)!.id;
  ids.aDelivery = await deliveryTo(ids.aEvent, ids.aSub);
  ids.bDelivery = await deliveryTo(ids.bEvent, ids.bSub);
  ids.platDelivery = await deliveryTo(ids.aEvent, 'plat');
  aToken = (await issue('acct_a')).token;
  a = adminClient(() => relay.url, aToken);
});
afterEach(async () => {
  await relay.stop();
  await receiver.close();
});

describe('tenant tokens', () => {
  it('shows the token once, lists tokens without it, stores only its hash, and audits without it', async () => {
    const created = await ops('POST', '/tenants/acct_a/tokens', { name: 'deploy', scopes: ['read'], expires_in: '90d' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'deploy', scopes: ['read'] });
    expect(created.body.token).toMatch(new RegExp(`^hrt_${created.body.id}_[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(created.body.expires_at) - Date.parse(created.body.created_at)).toBe(90 * 86_400_000);

    const listed = await ops('GET', '/tenants/acct_a/tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((t: { id: string }) => t.id).sort()).toEqual([created.body.id, aToken.split('_')[1]].sort());
    expect(listed.body.data.find((t: { id: string }) => t.id === created.body.id)).toEqual({
      id: created.body.id,
      name: 'deploy',
      scopes: ['read'],
      created_at: created.body.created_at,
      expires_at: created.body.expires_at,
      last_used_at: null,
    });
    expect(listed.text).not.toContain(created.body.token.split('_').slice(2).join('_'));
    expect((await ops('GET', '/tenants/acct_b/tokens')).body.data).toEqual([]);

    const secret = (created.body.token as string).slice(`hrt_${created.body.id}_`.length);
    const path = relay.config.storage.sqlite!.path;
    for (const file of [path, `${path}-wal`]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        continue;
      }
      expect(bytes.includes(secret)).toBe(false);
    }
    const audit = await ops('GET', '/audit');
    expect(audit.text).not.toContain(secret);
    expect(audit.body.data.map((e: { action: string }) => e.action)).toContain('tenant.token.create');

    expect((await ops('POST', '/tenants/acct_none/tokens', { name: 'x', scopes: ['read'] })).status).toBe(404);
    expect((await ops('POST', '/tenants/acct_a/tokens', { name: 'x', scopes: ['admin'] })).status).toBe(400);
    expect((await ops('POST', '/tenants/acct_a/tokens', { name: 'x'.repeat(5000), scopes: ['read'] })).status).toBe(413);
  });

  it('sets last_used_at when used, and whoami names the tenant', async () => {
    const me = await a('GET', '/whoami');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ name: `tenant:acct_a/${aToken.split('_')[1]}`, scopes: ['read', 'write'], tenant: 'acct_a' });
    const [listed] = (await ops('GET', '/tenants/acct_a/tokens')).body.data;
    expect(listed.last_used_at).not.toBeNull();
  });

  it('refuses a revoked token (401), an unknown or forged one (401), and a disabled tenant (403)', async () => {
    expect((await a('GET', '/subscriptions')).status).toBe(200);
    const id = aToken.split('_')[1]!;
    const forged = adminClient(() => relay.url, `hrt_${id}_${'A'.repeat(43)}`);
    expect((await forged('GET', '/subscriptions')).status).toBe(401);
    expect((await adminClient(() => relay.url, `hrt_${'x'.repeat(20)}_${'A'.repeat(43)}`)('GET', '/subscriptions')).status).toBe(401);

    expect((await ops('PUT', '/tenants/acct_a', { enabled: false })).status).toBe(200);
    expect((await a('GET', '/subscriptions')).status).toBe(403);
    expect((await ops('PUT', '/tenants/acct_a', { enabled: true })).status).toBe(200);
    expect((await a('GET', '/subscriptions')).status).toBe(200);

    expect((await ops('DELETE', `/tenants/acct_b/tokens/${id}`)).status).toBe(404);
    expect((await ops('DELETE', `/tenants/acct_a/tokens/${id}`)).status).toBe(204);
    expect((await a('GET', '/subscriptions')).status).toBe(401);
    expect((await ops('DELETE', `/tenants/acct_a/tokens/${id}`)).status).toBe(404);
  });

  it('refuses an expired token (401), and answers 503, not 401, while storage cannot check one', async () => {
    const expiring = adminClient(() => relay.url, (await issue('acct_a', { name: 'short', scopes: ['read'], expires_in: '1ms' })).token);
    await new Promise((r) => setTimeout(r, 5));
    expect((await expiring('GET', '/subscriptions')).status).toBe(401);

    const find = relay.store.findTenantToken;
    relay.store.findTenantToken = async () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    try {
      const res = await a('GET', '/subscriptions');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
    } finally {
      relay.store.findTenantToken = find;
    }
    expect((await a('GET', '/subscriptions')).status).toBe(200);
  });

  it('holds a read-only token to GET', async () => {
    const reader = adminClient(() => relay.url, (await issue('acct_a', { name: 'r', scopes: ['read'] })).token);
    expect((await reader('GET', '/subscriptions')).status).toBe(200);
    expect((await reader('POST', '/subscriptions', { url: 'https://a.example/' })).status).toBe(403);
  });
});

describe('what a tenant credential sees', () => {
  it('lists its own subscriptions, events, deliveries and stats only; another ?tenant= is 404', async () => {
    expect((await a('GET', '/subscriptions')).body.data.map((s: { id: string }) => s.id)).toEqual([ids.aSub]);
    expect((await a('GET', '/events')).body.data.map((e: { id: string }) => e.id)).toEqual([ids.aEvent]);
    expect((await a('GET', '/deliveries')).body.data.map((d: { id: string }) => d.id)).toEqual([ids.aDelivery]);
    const stats = (await a('GET', '/stats')).body;
    expect(stats.subscriptions.map((s: { id: string }) => s.id)).toEqual([ids.aSub]);
    for (const path of ['/subscriptions', '/events', '/deliveries']) {
      expect((await a('GET', `${path}?tenant=acct_b`)).status).toBe(404);
      expect((await a('GET', `${path}?tenant=`)).status).toBe(404);
      expect((await a('GET', `${path}?tenant=acct_a`)).status).toBe(200);
    }
    const event = await a('GET', `/events/${ids.aEvent}`);
    expect(event.status).toBe(200);
    expect(event.body.deliveries.map((d: { id: string }) => d.id)).toEqual([ids.aDelivery]);
    expect((await a('GET', `/deliveries/${ids.aDelivery}`)).status).toBe(200);
    expect((await a('GET', `/subscriptions/${ids.aSub}`)).status).toBe(200);
  });

  it("answers 404 on every route with another tenant's or a platform id", async () => {
    const routes = (sub: string, event: string, delivery: string): [string, string, unknown?][] => [
      ['GET', `/subscriptions/${sub}`],
      ['PATCH', `/subscriptions/${sub}`, { description: 'mine now' }],
      ['POST', `/subscriptions/${sub}/rotate-secret`, {}],
      ['POST', `/subscriptions/${sub}/test`],
      ['POST', `/subscriptions/${sub}/recover`, { since: '2020-01-01T00:00:00Z' }],
      ['DELETE', `/subscriptions/${sub}`],
      ['GET', `/events/${event}`],
      ['POST', `/events/${event}/replay`, {}],
      ['GET', `/deliveries/${delivery}`],
      ['POST', `/deliveries/${delivery}/retry`],
      ['POST', `/deliveries/${delivery}/cancel`],
    ];
    const others = [...routes(ids.bSub, ids.bEvent, ids.bDelivery), ...routes('plat', ids.platEvent, ids.platDelivery)];
    for (const [method, path, body] of others) {
      const res = await a(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    // Nothing changed: B's and the platform's subscriptions are still there.
    expect((await ops('GET', `/subscriptions/${ids.bSub}`)).status).toBe(200);
    expect((await ops('GET', '/subscriptions/plat')).status).toBe(200);
  });

  it('refuses the operator routes with 403', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/tenants'],
      ['GET', '/tenants/acct_a'],
      ['PUT', '/tenants/acct_a', {}],
      ['GET', '/tenants/acct_a/tokens'],
      ['POST', '/tenants/acct_a/tokens', { name: 'more', scopes: ['read'] }],
      ['POST', '/reload'],
      ['POST', '/backup', { name: 'x.db' }],
      ['GET', '/audit'],
    ];
    for (const [method, path, body] of routes) {
      const res = await a(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
  });

  it('creates subscriptions of its own only: no id, no other tenant, no blocked address, within max_subscriptions', async () => {
    expect((await a('POST', '/subscriptions', { id: 'mine', url: 'https://a.example/' })).status).toBe(400);
    expect((await a('POST', '/subscriptions', { tenant: 'acct_b', url: 'https://a.example/' })).status).toBe(403);
    const blocked = await a('POST', '/subscriptions', { url: 'http://10.0.0.1:9/hooks' });
    expect(blocked.status).toBe(400);
    expect(blocked.body.errors[0].path).toBe('url');
    const created = await a('POST', '/subscriptions', { url: 'https://a.example/hooks', events: ['order.*'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenant: 'acct_a' });
    expect(created.body.id).toMatch(/^sub_/);
    expect((await a('PATCH', `/subscriptions/${created.body.id}`, { url: 'http://10.0.0.1/' })).status).toBe(400);
    expect((await a('GET', '/subscriptions')).body.data).toHaveLength(2);

    await ops('PUT', '/tenants/acct_a', { limits: { max_subscriptions: 2 } });
    const capped = await a('POST', '/subscriptions', { url: 'https://a.example/more' });
    expect(capped.status).toBe(409);
    expect((await a('DELETE', `/subscriptions/${created.body.id}`)).status).toBe(204);
    expect((await a('POST', '/subscriptions', { url: 'https://a.example/more' })).status).toBe(201);
  });

  it('replays its own event to its own matching subscriptions only, and never a test event (409)', async () => {
    const replayed = await a('POST', `/events/${ids.aEvent}/replay`, {});
    expect(replayed.status).toBe(202);
    const made = replayed.body.deliveries as string[];
    expect(made).toHaveLength(1);
    expect((await relay.store.getDelivery(made[0]!))?.subscriptionId).toBe(ids.aSub);
    expect((await a('POST', `/events/${ids.aEvent}/replay`, { subscriptions: ['plat'] })).status).toBe(400);

    const test = await a('POST', `/subscriptions/${ids.aSub}/test`);
    expect(test.status).toBe(202);
    expect((await a('GET', `/deliveries/${test.body.delivery_id}`)).status).toBe(200);
    expect((await a('POST', `/events/${test.body.event_id}/replay`, {})).status).toBe(409);
  });
});

describe('blocked destinations', () => {
  it('shows a tenant credential that an attempt was blocked, never the address', async () => {
    const strict = await startRelay(
      testConfig({
        auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
        delivery: { allow_private_networks: false, retry_schedule: [] },
      }),
    );
    try {
      const op = adminClient(() => strict.url, OPS);
      await op('PUT', '/tenants/acct_s', {});
      // A name, not a literal address: accepted, then blocked when it resolves to loopback.
      const sub = (await op('POST', '/subscriptions', { tenant: 'acct_s', url: 'http://localhost:9/hooks' })).body.id as string;
      const res = await strict.post(
        '/ingest',
        { type: 'order.created', tenant: 'acct_s', data: {} },
        { authorization: `Bearer ${INGEST}` },
      );
      const eventId = ((await res.json()) as { id: string }).id;
      const delivery = await strict.until(async () => {
        const [d] = await strict.store.listDeliveriesOfEvent(eventId);
        return d && d.attempts > 0 ? d : undefined;
      });
      expect(delivery.subscriptionId).toBe(sub);
      expect((await op('GET', `/deliveries/${delivery.id}`)).body.attempt_log[0].error).toMatch(/^blocked: .*127\.0\.0\.1/);

      const token = (await op('POST', '/tenants/acct_s/tokens', { name: 't', scopes: ['read'] })).body.token as string;
      const tenant = adminClient(() => strict.url, token);
      const shown = await tenant('GET', `/deliveries/${delivery.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body.attempt_log[0].error).toBe('blocked: destination not allowed');
      expect(shown.body.last_error).toBe('blocked: destination not allowed');
      expect(shown.text).not.toContain('127.0.0.1');
      const listed = await tenant('GET', '/deliveries');
      expect(listed.body.data.map((d: { last_error: string }) => d.last_error)).toEqual(['blocked: destination not allowed']);
    } finally {
      await strict.stop();
    }
  });
});
