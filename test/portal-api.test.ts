import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../src/app';
import { configSchema } from '../src/config/schema';
import { silentLogger } from '../src/lib/logger';
import { quoteIdent } from '../src/store/postgres/connect';
import { createPostgresStore } from '../src/store/postgres/postgres-store';
import type { Store } from '../src/store/types';
import { adminClient, type AdminCall } from './helpers/admin-client';
import { startRelay, testConfig, type RunningRelay } from './helpers/relay';

/*
 * Portal links and sessions over HTTP (SPEC 10), against a real relay: what the platform's backend
 * and the portal page each get. Then two relays on one Postgres database racing for one link.
 */

const OPS = 'ops-token-0123456789';
const PUBLIC_URL = 'https://hooks.example.com';

let relay: RunningRelay;
let ops: AdminCall;

const anonymous = () => adminClient(() => relay.url, null);
const linkToken = (url: string) => url.slice(url.indexOf('#') + 1);

/** A link for the tenant and the session its first use opens. */
async function session(tenant = 'acct_a', body: Record<string, unknown> = {}) {
  const link = await ops('POST', `/tenants/${tenant}/portal-links`, body);
  expect(link.status).toBe(201);
  const opened = await anonymous()('POST', '/portal/sessions', { token: linkToken(link.body.url) });
  expect(opened.status).toBe(201);
  return {
    link: link.body as { url: string; expires_at: string },
    token: opened.body.token as string,
    as: adminClient(() => relay.url, opened.body.token),
  };
}

beforeEach(async () => {
  relay = await startRelay(
    testConfig({
      server: { public_url: `${PUBLIC_URL}/` },
      auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      tenants: { allowed_networks: ['127.0.0.0/8'] },
    }),
  );
  ops = adminClient(() => relay.url, OPS);
  for (const t of ['acct_a', 'acct_b']) expect((await ops('PUT', `/tenants/${t}`, {})).status).toBe(201);
});
afterEach(async () => {
  await relay.stop();
});

describe('portal links', () => {
  it('answers a one-hour link under server.public_url, and audits it without the token', async () => {
    const before = Date.now();
    const link = await ops('POST', '/tenants/acct_a/portal-links', {});
    const after = Date.now();
    expect(link.status).toBe(201);
    expect(link.body.url).toMatch(/^https:\/\/hooks\.example\.com\/portal#hrl_[A-Za-z0-9_-]{43}$/);
    const expiresAt = Date.parse(link.body.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);
    const audit = await ops('GET', '/audit');
    const entry = audit.body.data.find((e: { action: string }) => e.action === 'tenant.portal_link.create');
    expect(entry).toMatchObject({ actor: 'ops', target: 'acct_a', details: { scopes: ['read', 'write'] } });
    expect(audit.text).not.toContain(linkToken(link.body.url));
  });

  it('refuses a lifetime over 24h, unknown tenants, and tenant credentials', async () => {
    expect((await ops('POST', '/tenants/acct_a/portal-links', { expires_in: '25h' })).status).toBe(400);
    expect((await ops('POST', '/tenants/acct_a/portal-links', { scopes: ['admin'] })).status).toBe(400);
    expect((await ops('POST', '/tenants/acct_none/portal-links', {})).status).toBe(404);
    const { as } = await session();
    expect((await as('POST', '/tenants/acct_a/portal-links', {})).status).toBe(403);
    expect((await as('DELETE', '/tenants/acct_a/portal-sessions')).status).toBe(403);
  });

  it('answers 409 without server.public_url', async () => {
    await relay.stop();
    relay = await startRelay(testConfig({ auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] } }));
    ops = adminClient(() => relay.url, OPS);
    expect((await ops('PUT', '/tenants/acct_a', {})).status).toBe(201);
    const res = await ops('POST', '/tenants/acct_a/portal-links', {});
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('server.public_url');
  });
});

describe('the portal page', () => {
  it('is served without a credential, framed by no one unless configured, its assets cached for good', async () => {
    const res = await fetch(`${relay.url}/portal`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|style=/);
    const script = /src="(portal\/assets\/portal-[0-9a-f]{12}\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${relay.url}/${script}`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${relay.url}/portal/theme.css`).then((r) => r.text())).trim()).toBe(':root { --accent: #4f46e5; }');
  });
});

describe('portal sessions', () => {
  it('works once: the session speaks for its tenant alone; the second use of the link is 401', async () => {
    const { link, as } = await session();
    const me = await as('GET', '/whoami');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: 'acct_a', scopes: ['read', 'write'] });
    const again = await anonymous()('POST', '/portal/sessions', { token: linkToken(link.url) });
    expect(again.status).toBe(401);
    expect(again.body.detail).toBe('this portal link has expired or was already used');
    // What the session may do: its own tenant's routes, no operator route.
    const created = await as('POST', '/subscriptions', { url: 'http://127.0.0.1:9/hook' });
    expect(created.status).toBe(201);
    expect(created.body.tenant).toBe('acct_a');
    expect((await as('GET', '/tenants')).status).toBe(403);
    expect((await as('GET', '/subscriptions?tenant=acct_b')).status).toBe(404);
  });

  it('refuses a made-up link and a made-up session', async () => {
    expect((await anonymous()('POST', '/portal/sessions', { token: `hrl_${'A'.repeat(43)}` })).status).toBe(401);
    expect((await anonymous()('POST', '/portal/sessions', { token: 'nonsense' })).status).toBe(401);
    expect((await adminClient(() => relay.url, `hrp_${'A'.repeat(43)}`)('GET', '/whoami')).status).toBe(401);
  });

  it('gives a read-only link a read-only session', async () => {
    const { as } = await session('acct_a', { scopes: ['read'] });
    expect((await as('GET', '/subscriptions')).status).toBe(200);
    expect((await as('POST', '/subscriptions', { url: 'http://127.0.0.1:9/hook' })).status).toBe(403);
  });

  it('ends every session of the tenant on DELETE portal-sessions (401 from then on), not other tenants', async () => {
    const a = await session('acct_a');
    const b = await session('acct_b');
    const unused = await ops('POST', '/tenants/acct_a/portal-links', {});
    expect((await ops('DELETE', '/tenants/acct_a/portal-sessions')).status).toBe(204);
    expect((await a.as('GET', '/subscriptions')).status).toBe(401);
    expect((await anonymous()('POST', '/portal/sessions', { token: linkToken(unused.body.url) })).status).toBe(401);
    expect((await b.as('GET', '/subscriptions')).status).toBe(200);
    const audit = await ops('GET', '/audit');
    expect(audit.body.data.map((e: { action: string }) => e.action)).toContain('tenant.portal_sessions.end');
  });

  it('answers 503, not 401, while storage cannot check a session or use a link', async () => {
    const { as } = await session('acct_a');
    const link = await ops('POST', '/tenants/acct_a/portal-links', {});
    const busy = async () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    const { findPortalSession, openPortalSession } = relay.store;
    relay.store.findPortalSession = busy;
    relay.store.openPortalSession = busy;
    try {
      const res = await as('GET', '/subscriptions');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
      expect((await anonymous()('POST', '/portal/sessions', { token: linkToken(link.body.url) })).status).toBe(503);
    } finally {
      relay.store.findPortalSession = findPortalSession;
      relay.store.openPortalSession = openPortalSession;
    }
    expect((await as('GET', '/subscriptions')).status).toBe(200);
    // The link was not used up by the attempt that storage could not answer.
    expect((await anonymous()('POST', '/portal/sessions', { token: linkToken(link.body.url) })).status).toBe(201);
  });

  it('refuses a disabled tenant with 403 and ends its sessions; erasure ends them too', async () => {
    const link = await ops('POST', '/tenants/acct_b/portal-links', {});
    const { as: b } = await session('acct_b');
    expect((await ops('PUT', '/tenants/acct_b', { enabled: false })).status).toBe(200);
    // A link made before is refused (403: the tenant is disabled), and so is a new link (409).
    expect((await anonymous()('POST', '/portal/sessions', { token: linkToken(link.body.url) })).status).toBe(403);
    expect((await ops('POST', '/tenants/acct_b/portal-links', {})).status).toBe(409);
    const refused = await b('GET', '/subscriptions');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('disabled');
    // Enabled again, the sessions of before stay ended.
    expect((await ops('PUT', '/tenants/acct_b', {})).status).toBe(200);
    expect((await b('GET', '/subscriptions')).status).toBe(401);

    const { as } = await session('acct_a');
    expect((await ops('DELETE', '/tenants/acct_a')).status).toBe(202);
    await relay.until(async () => (await ops('GET', '/tenants/acct_a/erasure')).body.state === 'done');
    expect((await as('GET', '/subscriptions')).status).toBe(401);
  });
});

describe('portal sessions on two Postgres instances', () => {
  const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const pool = new pg.Pool({ connectionString: URL, max: 2 });
  const schema = `hookrelay_portal_${randomBytes(6).toString('hex')}`;
  const started: { app: App; store: Store }[] = [];
  afterAll(async () => {
    for (const { app, store } of started) {
      await app.stop();
      await store.close();
    }
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await pool.end();
  });

  async function instance(): Promise<string> {
    const store = createPostgresStore({ url: URL, schema, maxConnections: 4 });
    await store.migrate();
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: 0, public_url: PUBLIC_URL },
      storage: { postgres: { url: URL } },
      auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
    });
    const app = await createApp(config, { store, logger: silentLogger, pollIntervalMs: 200 });
    started.push({ app, store });
    return `http://127.0.0.1:${(await app.start()).port}`;
  }

  it('lets one of two instances use a link, refuses it on the other, and ends the session on both', async () => {
    await pool.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    const [one, two] = [await instance(), await instance()];
    const opsOne = adminClient(() => one, OPS);
    expect((await opsOne('PUT', '/tenants/acct_pg', {})).status).toBe(201);
    const link = await opsOne('POST', '/tenants/acct_pg/portal-links', {});
    const token = linkToken(link.body.url);
    const answers = await Promise.all([one, two].map((base) => adminClient(() => base, null)('POST', '/portal/sessions', { token })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401]);
    const sessionToken = answers.find((a) => a.status === 201)!.body.token;
    for (const base of [one, two]) expect((await adminClient(() => base, sessionToken)('GET', '/whoami')).status).toBe(200);
    expect((await adminClient(() => two, OPS)('DELETE', '/tenants/acct_pg/portal-sessions')).status).toBe(204);
    for (const base of [one, two]) expect((await adminClient(() => base, sessionToken)('GET', '/whoami')).status).toBe(401);
    // Migrations queue on one advisory lock shared by every schema of the database: room for a busy server.
  }, 90_000);
});
