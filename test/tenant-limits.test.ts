import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema';
import { quoteIdent } from '../src/store/postgres/connect';
import { createPostgresStore } from '../src/store/postgres/postgres-store';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store';
import type { Store } from '../src/store/types';
import { adminClient, type AdminCall } from './helpers/admin-client';
import { type Receiver, startReceiver } from './helpers/receiver';
import { startRelay, tempDir, testConfig, type RunningRelay } from './helpers/relay';

/*
 * The `tenants:` config block (SPEC 2, 9) against a real relay: tenants' endpoints held to the
 * blocked ranges whatever delivery.* says, subscription bounds, and max_subscriptions under a lock.
 */

const OPS = 'ops-token-0123456789';
const INGEST = 'ingest-token-0123456789';

let relay: RunningRelay | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await relay?.stop();
  await receiver?.close();
  relay = undefined;
  receiver = undefined;
});

async function start(raw: Record<string, unknown> = {}): Promise<{ ops: AdminCall; relay: RunningRelay }> {
  relay = await startRelay(
    testConfig({
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      ...raw,
    }),
  );
  const r = relay;
  return { ops: adminClient(() => r.url, OPS), relay: r };
}

describe('tenants config block', () => {
  it('has the SPEC defaults and refuses invalid values at their path', () => {
    const config = configSchema.parse({});
    expect(config.tenants).toEqual({
      allowed_networks: [],
      max_subscriptions: 20,
      subscription_bounds: { timeout: 30_000, max_in_flight: 16, retries: 10, max_delay: 86_400_000 },
    });
    const bad = configSchema.safeParse({
      tenants: { allowed_networks: ['10.0.0.0'], max_subscriptions: -1, subscription_bounds: { timeout: '0s', retry: 3 } },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'tenants.allowed_networks.0',
        'tenants.max_subscriptions',
        'tenants.subscription_bounds.timeout',
        'tenants.subscription_bounds',
      ]),
    );
  });
});

describe("tenants' endpoints and the blocked ranges", () => {
  it('refuses a blocked literal address for a tenant (400 on url) even to an operator with allow_private_networks', async () => {
    const { ops } = await start();
    await ops('PUT', '/tenants/acct_a', {});
    const refused = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'http://127.0.0.1:9/hooks' });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({ path: 'url', message: expect.stringMatching(/^blocked: 127\.0\.0\.1 .*tenants/) });
    const created = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/hooks' });
    expect(created.status).toBe(201);
    expect((await ops('PATCH', `/subscriptions/${created.body.id}`, { url: 'http://[::1]/hooks' })).status).toBe(400);
    // A platform subscription follows delivery.allow_private_networks (true in tests).
    expect((await ops('POST', '/subscriptions', { id: 'plat', url: 'http://127.0.0.1:9/hooks' })).status).toBe(201);
  });

  it("blocks a tenant's attempt to loopback on the address dialled, while a platform one is delivered", async () => {
    receiver = await startReceiver();
    const port = new URL(receiver.url).port;
    const { ops, relay: r } = await start({ delivery: { allow_private_networks: true, retry_schedule: ['50ms'] } });
    await ops('PUT', '/tenants/acct_a', {});
    // A name, accepted at creation, refused when it resolves to loopback.
    const tenantSub = (await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `http://localhost:${port}/tenant` })).body.id;
    expect((await ops('POST', '/subscriptions', { id: 'plat', url: `${receiver.url}/plat` })).status).toBe(201);
    const res = await r.post('/ingest', { type: 'order.created', tenant: 'acct_a', data: {} }, { authorization: `Bearer ${INGEST}` });
    const eventId = ((await res.json()) as { id: string }).id;
    const blocked = await r.until(async () => {
      const d = (await r.store.listDeliveriesOfEvent(eventId)).find((x) => x.subscriptionId === tenantSub);
      return d?.status === 'failed' ? d : undefined;
    });
    // Failed for good at its first attempt, as a platform one is.
    expect(blocked.attempts).toBe(1);
    const shown = await ops('GET', `/deliveries/${blocked.id}`);
    expect(shown.body.attempt_log[0].error).toMatch(/^blocked: localhost resolved to .*tenants\.allowed_networks/);
    await receiver.waitFor((got) => got.some((x) => x.path === '/plat'));
    expect(receiver.received.filter((x) => x.path === '/tenant')).toHaveLength(0);
  });

  it('lets tenants.allowed_networks exempt a range, for a literal address and at delivery', async () => {
    receiver = await startReceiver();
    const { ops, relay: r } = await start({ tenants: { allowed_networks: ['127.0.0.0/8'] } });
    await ops('PUT', '/tenants/acct_a', {});
    expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `${receiver.url}/tenant` })).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'http://10.1.2.3/hooks' })).status).toBe(400);
    await r.post('/ingest', { type: 'order.created', tenant: 'acct_a', data: {} }, { authorization: `Bearer ${INGEST}` });
    await receiver.waitFor((got) => got.some((x) => x.path === '/tenant'));
  });
});

describe('tenants.subscription_bounds', () => {
  it('refuses a tenant subscription over the bounds at create and PATCH, by operator or tenant token, with the path', async () => {
    const { ops, relay: r } = await start({
      tenants: { subscription_bounds: { timeout: '5s', max_in_flight: 4, retries: 2, max_delay: '1h' } },
    });
    await ops('PUT', '/tenants/acct_a', {});
    const over = await ops('POST', '/subscriptions', {
      tenant: 'acct_a',
      url: 'https://a.example/hooks',
      timeout: '6s',
      max_in_flight: 5,
      retry_schedule: ['1s', '2h', '1m'],
    });
    expect(over.status).toBe(400);
    expect(over.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'max_in_flight',
      'retry_schedule',
      'retry_schedule[1]',
      'timeout',
    ]);
    // A platform subscription is not bounded.
    expect((await ops('POST', '/subscriptions', { url: 'https://p.example/', timeout: '6s', max_in_flight: 5 })).status).toBe(201);

    const within = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/hooks', timeout: '5s' });
    expect(within.status).toBe(201);
    // No max_in_flight given: min(64, the bound).
    expect(r.app.subscriptions.get(within.body.id)?.maxInFlight).toBe(4);
    const patched = await ops('PATCH', `/subscriptions/${within.body.id}`, { retry_schedule: ['2h'] });
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].path).toBe('retry_schedule[0]');

    const token = (await ops('POST', '/tenants/acct_a/tokens', { name: 't', scopes: ['read', 'write'] })).body.token as string;
    const tenant = adminClient(() => r.url, token);
    const mine = await tenant('POST', '/subscriptions', { url: 'https://a.example/x', max_in_flight: 9 });
    expect(mine.status).toBe(400);
    expect(mine.body.errors[0].path).toBe('max_in_flight');
    expect((await tenant('PATCH', `/subscriptions/${within.body.id}`, { timeout: '10s' })).status).toBe(400);
    expect((await tenant('PATCH', `/subscriptions/${within.body.id}`, { timeout: '2s', max_in_flight: 4 })).status).toBe(200);
  });
});

describe('max_subscriptions', () => {
  it('holds the config default and the record limit for every creation, operator included (409)', async () => {
    const { ops, relay: r } = await start({ tenants: { max_subscriptions: 2 } });
    await ops('PUT', '/tenants/acct_a', {});
    for (const n of [1, 2])
      expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `https://a.example/${n}` })).status).toBe(201);
    const capped = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/3' });
    expect(capped.status).toBe(409);
    expect(capped.body.detail).toMatch(/limit of 2 subscriptions \(max_subscriptions\)/);
    // The record's limit overrides the config's.
    await ops('PUT', '/tenants/acct_a', { limits: { max_subscriptions: 3 } });
    expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/3' })).status).toBe(201);
    const token = (await ops('POST', '/tenants/acct_a/tokens', { name: 't', scopes: ['read', 'write'] })).body.token as string;
    expect((await adminClient(() => r.url, token)('POST', '/subscriptions', { url: 'https://a.example/4' })).status).toBe(409);
    // Platform subscriptions are not counted.
    expect((await ops('POST', '/subscriptions', { url: 'https://p.example/' })).status).toBe(201);
  });

  it('lets exactly the limit through when creations race', async () => {
    const { ops } = await start({ tenants: { max_subscriptions: 3 } });
    await ops('PUT', '/tenants/acct_a', {});
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ops('POST', '/subscriptions', { tenant: 'acct_a', url: `https://a.example/${i}` })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
  });
});

/** Two stores on one database, as two instances: only `limit` inserts pass, whichever store makes them. */
async function raceTwoStores(a: Store, b: Store) {
  await a.putTenant({ id: 'acct_r', name: null, metadata: null, enabled: true, maxSubscriptions: 4, ingestRate: null }, 1);
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? a : b).insertTenantSubscription(`r${i}`, { id: `r${i}`, url: 'https://r.example/' }, 2, 'acct_r', 20),
    ),
  );
  expect(results.filter((r) => r.result === 'ok')).toHaveLength(4);
  expect(results.filter((r) => r.result === 'limit')).toHaveLength(8);
  expect(await a.insertTenantSubscription('r0', {}, 3, 'acct_none', 20)).toEqual({ result: 'no_tenant' });
  const first = results.findIndex((r) => r.result === 'ok');
  await a.putTenant({ id: 'acct_r', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, 4);
  expect(await b.insertTenantSubscription(`r${first}`, {}, 5, 'acct_r', 20)).toEqual({ result: 'taken' });
}

describe('insertTenantSubscription across two instances', () => {
  it('SQLite: two connections to one file', async () => {
    const path = join(tempDir(), 'hookrelay.db');
    const a = createSqliteStore({ path, synchronous: 'normal', busyTimeoutMs: 5000 });
    const b = createSqliteStore({ path, synchronous: 'normal', busyTimeoutMs: 5000 });
    await a.migrate();
    await b.migrate();
    try {
      await raceTwoStores(a, b);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  const URL_PG = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Pool({ connectionString: URL_PG, max: 1 });
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
  });

  it('Postgres: the tenant row is locked (FOR UPDATE)', async () => {
    const schema = `hookrelay_limits_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const a = createPostgresStore({ url: URL_PG, schema, maxConnections: 6, time: 'caller' });
    const b = createPostgresStore({ url: URL_PG, schema, maxConnections: 6, time: 'caller' });
    await a.migrate();
    await b.migrate();
    try {
      await raceTwoStores(a, b);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('limits.ingest_rate', () => {
  it('refuses a tenant over its ingest_rate on /ingest and /ingest/batch with 429 and Retry-After; others pass', async () => {
    const { ops, relay: r } = await start();
    await ops('PUT', '/tenants/acct_a', { limits: { ingest_rate: '3/m' } });
    await ops('PUT', '/tenants/acct_b', {});
    const send = (body: unknown) => r.post('/ingest', body, { authorization: `Bearer ${INGEST}` });
    const batch = (body: unknown) => r.post('/ingest/batch', body, { authorization: `Bearer ${INGEST}` });
    const event = (tenant?: string) => ({ type: 'order.created', data: {}, ...(tenant && { tenant }) });
    expect((await batch({ events: [event('acct_a'), event('acct_a')] })).status).toBe(202);
    expect((await send(event('acct_a'))).status).toBe(202);
    const over = await send(event('acct_a'));
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await over.json()) as { detail: string }).detail).toMatch(/acct_a.*ingest_rate/);
    // A batch with one event of the limited tenant is refused whole: nothing is stored.
    const before = (await ops('GET', '/events?limit=100')).body.data.length;
    const refused = await batch({ events: [event('acct_b'), event('acct_a')] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect((await ops('GET', '/events?limit=100')).body.data.length).toBe(before);
    // Another tenant, a tenant without a record and platform events are not limited.
    for (const body of [event('acct_b'), event('acct_none'), event()]) expect((await send(body)).status).toBe(202);
  });

  it('reads a changed ingest_rate within a second', async () => {
    const { ops, relay: r } = await start();
    await ops('PUT', '/tenants/acct_a', { limits: { ingest_rate: '1/m' } });
    const send = () => r.post('/ingest', { type: 'order.created', tenant: 'acct_a', data: {} }, { authorization: `Bearer ${INGEST}` });
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(429);
    await ops('PUT', '/tenants/acct_a', { limits: { ingest_rate: null } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await send()).status).toBe(202);
  });
});

describe('tenants block at reload', () => {
  it('applies changed allowed_networks, bounds and max_subscriptions at reload', async () => {
    receiver = await startReceiver();
    const base = {
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
    };
    const first = testConfig({ ...base, tenants: { allowed_networks: ['127.0.0.0/8'] } });
    let next = first;
    relay = await startRelay(first, { loadConfig: () => next });
    const r = relay;
    const ops = adminClient(() => r.url, OPS);
    await ops('PUT', '/tenants/acct_a', {});
    expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `${receiver.url}/one`, timeout: '20s' })).status).toBe(201);
    next = {
      ...first,
      tenants: {
        allowed_networks: [],
        max_subscriptions: 5,
        subscription_bounds: { ...first.tenants.subscription_bounds, timeout: 10_000 },
      },
    };
    expect((await ops('POST', '/reload')).status).toBe(200);
    const blocked = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `${receiver.url}/two` });
    expect(blocked.status).toBe(400);
    expect(blocked.body.errors[0].path).toBe('url');
    const bounded = await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/', timeout: '20s' });
    expect(bounded.status).toBe(400);
    expect(bounded.body.errors[0].path).toBe('timeout');
    for (let i = 2; i <= 5; i++)
      expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: `https://a.example/${i}` })).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'https://a.example/6' })).status).toBe(409);
  });
});
