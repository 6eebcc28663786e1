import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, type AdminCall } from './helpers/admin-client';
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

  it('lets write or tenants tokens use the tenant routes; a tenants-only token gets 403 everywhere else', async () => {
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
      ['GET', '/whoami'],
      ['GET', '/audit'],
      ['POST', '/reload'],
      ['GET', '/openapi.json'],
    ] as const) {
      const answer = await provisioner(method, path, method === 'POST' ? {} : undefined);
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
  });

  it('describes the tenant routes in the OpenAPI document', async () => {
    const doc = (await ops('GET', '/openapi.json')).body;
    expect(doc.paths['/tenants/{tenant}'].put.operationId).toBe('putTenant');
    expect(doc.paths['/tenants/{tenant}'].get.operationId).toBe('getTenant');
    expect(doc.paths['/tenants'].get.operationId).toBe('listTenants');
  });
});
