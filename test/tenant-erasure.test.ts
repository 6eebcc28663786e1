import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/schema';
import type { Store } from '../src/store/types';
import { adminClient } from './helpers/admin-client';
import { captureLogs } from './helpers/log-capture';
import { type Receiver, startReceiver } from './helpers/receiver';
import { type RunningRelay, startRelay, testConfig } from './helpers/relay';

/*
 * Tenant erasure end to end (SPEC 9): DELETE /tenants/{tenant} against a real relay on a real
 * SQLite file, with real receivers: every row of the tenant goes (its subscriptions, events, their
 * deliveries to platform subscriptions too, attempts), nothing of it stays readable in the file or
 * the WAL, and an erasure cut short by a stop goes on at the next start.
 */

const OPS = 'ops-token-0123456789';
const INGEST = 'ingest-token-0123456789';
const HEADER_VALUE = 'hv_TenantHeaderValueMustGo_4711';
const MARKER = 'PayloadMarkerOfTheErasedTenant';
// Another secret than the platform's, so finding it in the file means the tenant's.
const TENANT_SECRET = 'whsec_VGVuYW50U2VjcmV0TXVzdEdvMDEyMzQ1Njc4OQ==';

const config = (): Config =>
  testConfig({
    auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
    // A failed attempt waits an hour: those deliveries stay waiting while the tenant is erased.
    delivery: { retry_schedule: ['1h'] },
    // Tenants' endpoints are held to the blocked ranges whatever delivery.* says (SPEC 9): the receivers are on loopback.
    tenants: { allowed_networks: ['127.0.0.0/8'] },
  });

const relays: RunningRelay[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function relayOf(cfg: Config, opts: Parameters<typeof startRelay>[1] = {}): Promise<RunningRelay> {
  const relay = await startRelay(cfg, opts);
  relays.push(relay);
  return relay;
}

async function receiver(answer = 200): Promise<Receiver> {
  const r = await startReceiver((_req, res) => {
    res.statusCode = answer;
    res.end();
  });
  receivers.push(r);
  return r;
}

/** The database file and its WAL, as bytes on disk. */
function rawBytes(path: string): Buffer {
  return Buffer.concat([path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

/** Rows still carrying the tenant (or one of its subscriptions), read through a second connection. */
function rowsOf(path: string, tenant: string, subscriptionIds: string[]): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const count = (sql: string, ...params: unknown[]) =>
      (db
        .prepare(sql)
        .pluck()
        .get(...params) as number) ?? 0;
    const subs = JSON.stringify(subscriptionIds);
    return {
      tenants: count('SELECT COUNT(*) FROM tenants WHERE id = ?', tenant),
      events: count('SELECT COUNT(*) FROM events WHERE tenant = ?', tenant),
      deliveries: count(
        'SELECT COUNT(*) FROM deliveries WHERE tenant = ? OR subscription_id IN (SELECT value FROM json_each(?))',
        tenant,
        subs,
      ),
      attempts: count(
        'SELECT COUNT(*) FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries) OR delivery_id IN (SELECT id FROM deliveries WHERE tenant = ?)',
        tenant,
      ),
      subscriptions: count('SELECT COUNT(*) FROM api_subscriptions WHERE tenant = ?', tenant),
      states: count('SELECT COUNT(*) FROM subscription_state WHERE id IN (SELECT value FROM json_each(?))', subs),
      auditDetails: count(
        `SELECT COUNT(*) FROM audit_log WHERE (target = ? OR target IN (SELECT value FROM json_each(?))) AND details <> '{}'`,
        tenant,
        subs,
      ),
    };
  } finally {
    db.close();
  }
}

const NONE = { tenants: 0, events: 0, deliveries: 0, attempts: 0, subscriptions: 0, states: 0, auditDetails: 0 };

describe('tenant erasure', () => {
  it('erases every row of the tenant (platform deliveries too), refusing ingest and PUT meanwhile, and leaves nothing in the file or WAL', async () => {
    const cfg = config();
    const path = cfg.storage.sqlite!.path;
    // The erasure waits for this gate, so the test sees it under way.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const relay = await relayOf(cfg, {
      wrapStore: (store): Store => ({
        ...store,
        eraseTenantBatch: async (...args) => {
          await gate;
          return store.eraseTenantBatch(...args);
        },
      }),
    });
    const ops = adminClient(() => relay.url, OPS);
    const ingest = (body: unknown) => relay.post('/ingest', body, { authorization: `Bearer ${INGEST}` });
    const [platform, good, bad, kept] = [await receiver(), await receiver(), await receiver(503), await receiver()];

    expect((await ops('PUT', '/tenants/acct_gone', { name: 'Gone Inc', metadata: { contact: 'gone@example.com' } })).status).toBe(201);
    expect((await ops('PUT', '/tenants/acct_kept', {})).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'plat', url: `${platform.url}/p` })).status).toBe(201);
    const tenantSubscription = (id: string, url: string) =>
      ops('POST', '/subscriptions', {
        id,
        tenant: 'acct_gone',
        url,
        signature: { scheme: 'standard-webhooks', secret: TENANT_SECRET },
        headers: { 'X-Api-Key': HEADER_VALUE },
      });
    expect((await tenantSubscription('gone-ok', `${good.url}/ok`)).status).toBe(201);
    expect((await tenantSubscription('gone-bad', `${bad.url}/bad`)).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'kept', tenant: 'acct_kept', url: `${kept.url}/k` })).status).toBe(201);

    for (let n = 0; n < 5; n++)
      expect((await ingest({ type: 'order.created', tenant: 'acct_gone', data: { note: `${MARKER}-${n}` } })).status).toBe(202);
    const keptEvent = (await (await ingest({ type: 'order.created', tenant: 'acct_kept', data: { n: 1 } })).json()) as { id: string };
    await Promise.all([
      good.waitFor((r) => r.length === 5),
      bad.waitFor((r) => r.length === 5),
      platform.waitFor((r) => r.length === 6),
      kept.waitFor((r) => r.length === 1),
    ]);
    // The bad subscription's deliveries wait for their retry; the others were delivered.
    await relay.until(async () => (await relay.store.tenantCounts(['acct_gone'])).get('acct_gone')!.backlog === 5);
    expect(rawBytes(path).includes(MARKER)).toBe(true);
    expect(rawBytes(path).includes(TENANT_SECRET)).toBe(true);
    expect(rawBytes(path).includes(HEADER_VALUE)).toBe(true);

    const erase = await ops('DELETE', '/tenants/acct_gone');
    expect(erase.status).toBe(202);
    expect(erase.body).toEqual({ tenant: 'acct_gone', state: 'erasing' });
    expect((await ops('GET', '/tenants/acct_gone/erasure')).body).toMatchObject({
      state: 'erasing',
      events: 0,
      deliveries: 0,
      attempts: 0,
    });
    expect((await ops('GET', '/tenants/acct_gone')).body.state).toBe('erasing');
    const refused = await ingest({ type: 'order.created', tenant: 'acct_gone', data: {} });
    expect(refused.status).toBe(409);
    expect((await ops('PUT', '/tenants/acct_gone', {})).status).toBe(409);
    expect((await ops('GET', '/tenants/acct_never/erasure')).status).toBe(404);

    open();
    const done = await relay.until(async () => {
      const res = await ops('GET', '/tenants/acct_gone/erasure');
      return res.body.state === 'done' && res.body;
    });
    // 5 events, each to gone-ok, gone-bad and plat; one attempt each.
    expect(done).toMatchObject({ tenant: 'acct_gone', state: 'done', events: 5, deliveries: 15, attempts: 15 });
    expect(done.finished_at).toEqual(expect.any(String));
    expect((await ops('GET', '/tenants/acct_gone')).status).toBe(404);
    // The live set follows the change log the erasure wrote (within a second).
    await relay.until(async () => (await ops('GET', '/subscriptions/gone-ok')).status === 404);
    expect((await ops('GET', '/subscriptions/gone-bad')).status).toBe(404);
    // The live set dropped them: only the platform's and the other tenant's remain.
    expect((await ops('GET', '/subscriptions')).body.data.map((s: { id: string }) => s.id).sort()).toEqual(['kept', 'plat']);
    const platformDeliveries = await relay.store.listDeliveries({ subscriptionId: 'plat', limit: 50 });
    expect(platformDeliveries.data.map((d) => d.eventId)).toEqual([keptEvent.id]);
    const audit = (await ops('GET', '/audit?limit=50')).body.data as { action: string; target: string; details: unknown }[];
    for (const entry of audit.filter((a) => ['acct_gone', 'gone-ok', 'gone-bad'].includes(a.target))) expect(entry.details).toEqual({});
    expect(audit.filter((a) => a.target === 'acct_gone').map((a) => a.action)).toEqual(['tenant.erase', 'tenant.put']);

    expect(rowsOf(path, 'acct_gone', ['gone-ok', 'gone-bad'])).toEqual(NONE);
    expect(rowsOf(path, 'acct_kept', ['kept'])).toMatchObject({ tenants: 1, events: 1, deliveries: 2, subscriptions: 1 });
    for (const secret of [MARKER, TENANT_SECRET, HEADER_VALUE, 'gone@example.com'])
      expect([secret, rawBytes(path).includes(secret)]).toEqual([secret, false]);
    await relay.stop();
    relays.splice(0);
    for (const secret of [MARKER, TENANT_SECRET, HEADER_VALUE, 'gone@example.com'])
      expect([secret, rawBytes(path).includes(secret)]).toEqual([secret, false]);
  });

  it('writes nothing back of an attempt that was in flight when the erasure started', async () => {
    const cfg = config();
    const path = cfg.storage.sqlite!.path;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const logs = captureLogs('warn');
    const relay = await relayOf(cfg, {
      logger: logs.logger,
      wrapStore: (store): Store => ({
        ...store,
        eraseTenantBatch: async (...args) => {
          await gate;
          return store.eraseTenantBatch(...args);
        },
      }),
    });
    const ops = adminClient(() => relay.url, OPS);
    // The receiver holds the request until the erasure has started.
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    const slow = await startReceiver(async (_req, res) => {
      await held;
      res.end();
    });
    receivers.push(slow);
    expect((await ops('PUT', '/tenants/acct_fly', {})).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'fly', tenant: 'acct_fly', url: `${slow.url}/f` })).status).toBe(201);
    const { id } = (await (
      await relay.post(
        '/ingest',
        { type: 'order.created', tenant: 'acct_fly', data: { note: MARKER } },
        { authorization: `Bearer ${INGEST}` },
      )
    ).json()) as { id: string };
    await slow.waitFor((r) => r.length === 1);
    const [delivery] = await relay.store.listDeliveriesOfEvent(id);

    expect((await ops('DELETE', '/tenants/acct_fly')).status).toBe(202);
    answer();
    await relay.until(async () => logs.entries().some((e) => e.msg === 'attempt result not recorded: lease lost or store unavailable'));
    expect(await relay.store.listAttempts(delivery!.id)).toEqual([]);
    expect(await relay.store.getSubscriptionStates(['fly'])).toEqual([]);

    open();
    await relay.until(async () => (await ops('GET', '/tenants/acct_fly/erasure')).body.state === 'done');
    expect((await ops('GET', '/tenants/acct_fly/erasure')).body).toMatchObject({ events: 1, deliveries: 1, attempts: 0 });
    expect(rowsOf(path, 'acct_fly', ['fly'])).toEqual(NONE);
  });

  it('goes on after a restart: stopped mid-erasure, the next start finishes it', async () => {
    const cfg = config();
    const path = cfg.storage.sqlite!.path;
    // After three batches the first relay's erasure makes no more progress, so it is surely cut short.
    let batches = 0;
    let midway!: () => void;
    const reachedMidway = new Promise<void>((r) => (midway = r));
    const first = await relayOf(cfg, {
      eraseBatchSize: 20,
      wrapStore: (store): Store => ({
        ...store,
        eraseTenantBatch: async (tenant, limit, now) => {
          if (++batches > 3) {
            midway();
            return store.getTenantErasure(tenant);
          }
          return store.eraseTenantBatch(tenant, limit, now);
        },
      }),
    });
    const ops = adminClient(() => first.url, OPS);
    const events = Array.from({ length: 300 }, (_, n) => ({
      type: 'order.created',
      tenant: 'acct_many',
      data: { note: `${MARKER}-${n}` },
    }));
    for (let i = 0; i < events.length; i += 100) {
      expect((await first.post('/ingest/batch', { events: events.slice(i, i + 100) }, { authorization: `Bearer ${INGEST}` })).status).toBe(
        202,
      );
    }
    expect((await ops('DELETE', '/tenants/acct_many')).status).toBe(202);
    await reachedMidway;
    await first.stop();
    relays.splice(0);
    const cut = rowsOf(path, 'acct_many', []);
    expect(cut.events).toBeGreaterThan(0);
    expect(cut.events).toBeLessThan(300);
    expect(cut.tenants).toBe(1);

    const second = await relayOf(cfg);
    const again = adminClient(() => second.url, OPS);
    const done = await second.until(async () => {
      const res = await again('GET', '/tenants/acct_many/erasure');
      return res.body.state === 'done' && res.body;
    });
    expect(done).toMatchObject({ state: 'done', events: 300, deliveries: 0, attempts: 0 });
    expect(rowsOf(path, 'acct_many', [])).toEqual(NONE);
    expect(rawBytes(path).includes(MARKER)).toBe(false);
  });
});
