import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresMigrations } from '../migrations/postgres/index';
import { quoteIdent } from '../src/store/postgres/connect';
import { assertBundleBuilt, runBundle, startChildRelay, type ChildRelay } from './helpers/child';
import { startReceiver, type Received, type Receiver } from './helpers/receiver';
import { eventually, tempDir, TEST_SECRET } from './helpers/relay';

/*
 * Several relay processes (the built bundle) on one real Postgres database
 * (HOOKRELAY_TEST_POSTGRES_URL, set by .ci/run; the machine's local server otherwise), each test in
 * a schema of its own. Attempts time out after 2 s and leases outlive them by 1 s, so a stopped or
 * killed instance's work is taken over within seconds.
 */

const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 2 });
const schemas: string[] = [];
let relays: ChildRelay[] = [];
const receivers: Receiver[] = [];

beforeAll(assertBundleBuilt);
afterEach(async () => {
  for (const r of relays) {
    r.proc.kill('SIGCONT');
    r.proc.kill('SIGKILL');
  }
  await Promise.all(relays.map((r) => r.exited));
  relays = [];
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

/** A fresh schema, and the URL whose connections use it. */
async function database(): Promise<{ schema: string; url: string }> {
  const schema = `hookrelay_cluster_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  schemas.push(schema);
  const url = new globalThis.URL(URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: url.toString() };
}

function config(url: string, receiver: string): string {
  return `server: { host: 127.0.0.1, port: 0, shutdown_grace: 1s }
storage:
  postgres: { url: "${url}", lease_margin: 1s }
auth:
  admin_tokens: [ { name: ops, token: ${OPS_TOKEN}, scopes: [read, write] } ]
delivery: { allow_private_networks: true, timeout: 2s, retry_schedule: [200ms, 200ms, 200ms, 200ms], jitter: 0 }
log: { level: info, format: json }
subscriptions:
  - { id: orders, url: "${receiver}/orders", signature: { scheme: standard-webhooks, secret: ${TEST_SECRET} } }
`;
}

async function instance(url: string, receiver: Receiver): Promise<ChildRelay> {
  const dir = tempDir();
  const relay = await startChildRelay(dir, config(url, receiver.url));
  relays.push(relay);
  return relay;
}

async function post(relay: ChildRelay, data: unknown): Promise<string> {
  const res = await fetch(`${relay.url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'order.created', data }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const OPS_TOKEN = 'ops-token-for-cluster-tests';

/** An admin API call to one instance. */
async function api(relay: ChildRelay, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${OPS_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Ingests one event through `relay` and answers how many deliveries it got. */
async function fanOut(relay: ChildRelay, type = 'order.created'): Promise<{ id: string; deliveries: number }> {
  const res = await fetch(`${relay.url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, data: {} }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; deliveries: number };
}

/** A subscription change made through one instance is in force on another within a second (NOTIFY; the 1 s poll of the change log behind it). */
const IN_FORCE_MS = 1000;

const deliveredIds = (received: Received[]) => new Set(received.map((r) => r.headers['webhook-id']));

describe('several instances on one Postgres database', () => {
  it('start together (migrating once), share the work, deliver every event, and never attempt one delivery twice at once', async () => {
    // The receiver answers after 30 ms and records how many attempts of each event overlap.
    const open = new Map<string, number>();
    let overlapping = 0;
    const receiver = await startReceiver(async (req) => {
      const id = req.headers['webhook-id']!;
      open.set(id, (open.get(id) ?? 0) + 1);
      if (open.get(id)! > 1) overlapping++;
      await new Promise((r) => setTimeout(r, 30));
      open.set(id, open.get(id)! - 1);
    });
    receivers.push(receiver);
    const { url, schema } = await database();
    const cluster = await Promise.all([instance(url, receiver), instance(url, receiver), instance(url, receiver)]);
    const migrations = await admin.query(`SELECT name FROM ${quoteIdent(schema)}.kysely_migration`);
    expect(migrations.rows.map((r) => r.name)).toEqual(Object.keys(postgresMigrations));
    for (const relay of cluster) expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);

    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push(await post(cluster[i % 3]!, { i }));
    await receiver.waitFor((r) => ids.every((id) => deliveredIds(r).has(id)), 30_000);
    expect(overlapping).toBe(0);
    // Each event once: no delivery was attempted by two instances.
    expect(receiver.received).toHaveLength(150);
    // The work was shared: more than one instance delivered.
    const busy = cluster.filter((r) => r.logs.some((l) => l.msg === 'attempt succeeded'));
    expect(busy.length).toBeGreaterThan(1);
  });

  it('takes over the work of an instance stopped past its leases, and rejects its late results when it resumes', async () => {
    let held: ServerResponse[] = [];
    let holding = true;
    const receiver = await startReceiver((_req, res) => {
      if (!holding) return;
      held.push(res);
      return new Promise(() => {});
    });
    receivers.push(receiver);
    const { url, schema } = await database();
    const first = await instance(url, receiver);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await post(first, { i }));
    await receiver.waitFor((r) => r.length === 5); // all five in flight in the first instance
    first.proc.kill('SIGSTOP');
    // Its attempts get their answers, which it cannot read while stopped.
    holding = false;
    for (const res of held) res.end('ok');
    held = [];

    const second = await instance(url, receiver);
    await receiver.waitFor((r) => r.length === 10, 20_000); // each event delivered again, by the second
    // Taken over by its maintenance, or, when it started after the leases had expired, at its start.
    await second.waitForLog(
      (l) =>
        l.msg === 'leases expired without a recorded result; deliveries will be tried again' ||
        l.msg === 'deliveries left in flight by a previous process will be tried again',
    );
    await eventually(async () => {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.deliveries WHERE status = 'succeeded'`);
      return rows[0].n === 5;
    });

    first.proc.kill('SIGCONT');
    await first.waitForLog((l) => l.msg === 'attempt result not recorded: lease lost or store unavailable', 10_000);
    // Only the second instance's attempts are recorded.
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.attempts`);
    expect(rows[0].n).toBe(5);
    const statuses = await admin.query(`SELECT DISTINCT status FROM ${quoteIdent(schema)}.deliveries`);
    expect(statuses.rows.map((r) => r.status)).toEqual(['succeeded']);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set(ids));
  });

  it('loses nothing when an instance is killed with SIGKILL mid-flight', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => (healthy ? undefined : new Promise(() => {})));
    receivers.push(receiver);
    const { url, schema } = await database();
    const [victim, survivor] = await Promise.all([instance(url, receiver), instance(url, receiver)]);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await post(i % 2 ? victim : survivor, { i }));
    await receiver.waitFor((r) => deliveredIds(r).size === 20);
    victim.proc.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    healthy = true;
    // The survivor's own attempts time out and retry; the victim's leases expire and are taken over.
    await eventually(async () => {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.deliveries WHERE status = 'succeeded'`);
      return rows[0].n === 20;
    }, 30_000);
    expect(deliveredIds(receiver.received)).toEqual(new Set(ids));
    await survivor.waitForLog((l) => l.msg === 'leases expired without a recorded result; deliveries will be tried again', 20_000);
  });

  it('records an answer whose body holds NUL bytes (Postgres text cannot), with the other results of its batch', async () => {
    const { url } = await database();
    // Every answer carries NUL bytes: its result shares each batch with the others.
    const receiver = await startReceiver((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok\u0000${req.headers['webhook-id']}\u0000`);
    });
    receivers.push(receiver);
    const a = await instance(url, receiver);
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => post(a, { i })));
    await receiver.waitFor((r) => r.length === ids.length);
    const deliveries = await eventually(async () => {
      const page = await api(a, 'GET', '/deliveries?limit=50');
      const items = page.body.data as { id: string; event_id: string; status: string; attempts: number }[];
      return items.length === ids.length && items.every((d) => d.status === 'succeeded') && items;
    });
    for (const d of deliveries) {
      expect(d.attempts).toBe(1);
      const detail = await api(a, 'GET', `/deliveries/${d.id}`);
      // U+0000 is shown as U+FFFD, the rest of the body as it came.
      expect(detail.body.attempt_log[0].response.body).toBe(`ok\uFFFD${d.event_id}\uFFFD`);
    }
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set(ids));
    expect(receiver.received).toHaveLength(ids.length);

    // In what the API is given, a NUL is refused where it is, on every route, before the store sees it.
    const nul = { path: 'name', message: 'must not contain the NUL character (\\u0000)' };
    expect(await api(a, 'PUT', '/tenants/acct_nul', { name: 'Acme\u0000' })).toMatchObject({ status: 400, body: { errors: [nul] } });
    expect(await api(a, 'PUT', '/tenants/acct_nul', { name: 'Acme', metadata: { 'k\u0000': 1 } })).toMatchObject({
      status: 400,
      body: { errors: [{ ...nul, path: 'metadata.k\u0000' }] },
    });
    expect((await api(a, 'PUT', '/tenants/acct_nul', { name: 'Acme' })).status).toBe(201);
  });

  it('migrates and refuses backup from the command line', async () => {
    const { url, schema } = await database();
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, config(url, 'http://127.0.0.1:1'));
    const migrated = await runBundle(['migrate', '--config', file]);
    expect(migrated).toMatchObject({ code: 0, stdout: 'storage migrated\n' });
    const tables = await admin.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'deliveries'`,
      [schema],
    );
    expect(tables.rows[0].n).toBe(1);
    const backup = await runBundle(['backup', '--config', file, '--out', join(dir, 'copy.db')]);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toBe('hookrelay: backup copies the SQLite store; for storage.postgres use pg_dump\n');
  });

  it('applies a subscription created, patched, disabled and deleted through one instance on the other within a second', async () => {
    const { url } = await database();
    const receiver = await startReceiver((_req, res: ServerResponse) => void res.writeHead(200).end());
    receivers.push(receiver);
    const [a, b] = await Promise.all([instance(url, receiver), instance(url, receiver)]);
    const onB = async (check: (view: { status: number; body: any }) => boolean) => {
      const started = Date.now();
      await eventually(async () => check(await api(b!, 'GET', '/subscriptions/live')), IN_FORCE_MS);
      return Date.now() - started;
    };

    const created = await api(a!, 'POST', '/subscriptions', { id: 'live', url: `${receiver.url}/live`, events: ['order.*'] });
    expect(created.status).toBe(201);
    await onB((v) => v.status === 200);
    // Fan-out on B counts it, and B's dispatcher claims for it (A is stopped, so only B can deliver).
    a!.proc.kill('SIGSTOP');
    const first = await fanOut(b!);
    expect(first.deliveries).toBe(2);
    await receiver.waitFor((r) => r.some((x) => x.path === '/live' && x.headers['webhook-id'] === first.id));
    a!.proc.kill('SIGCONT');

    expect((await api(a!, 'PATCH', '/subscriptions/live', { url: `${receiver.url}/moved` })).status).toBe(200);
    await onB((v) => v.body?.url === `${receiver.url}/moved`);
    a!.proc.kill('SIGSTOP');
    const moved = await fanOut(b!);
    await receiver.waitFor((r) => r.some((x) => x.path === '/moved' && x.headers['webhook-id'] === moved.id));
    a!.proc.kill('SIGCONT');

    expect((await api(a!, 'PATCH', '/subscriptions/live', { enabled: false })).status).toBe(200);
    await onB((v) => v.body?.enabled === false);
    expect((await fanOut(b!)).deliveries).toBe(1);

    expect((await api(a!, 'PATCH', '/subscriptions/live', { enabled: true })).status).toBe(200);
    await onB((v) => v.body?.enabled === true);
    // A config reload re-reads the file and the store: the API subscription and its state stay.
    const reloaded = await api(b!, 'POST', '/reload');
    expect(reloaded.body).toEqual({ reloaded: true, subscriptions: 2 });
    expect((await api(b!, 'GET', '/subscriptions/live')).body).toMatchObject({
      enabled: true,
      url: `${receiver.url}/moved`,
      source: 'api',
    });
    expect((await fanOut(b!)).deliveries).toBe(2);

    expect((await api(a!, 'DELETE', '/subscriptions/live')).status).toBe(204);
    await onB((v) => v.status === 404);
    expect((await fanOut(b!)).deliveries).toBe(1);
  });

  it('emits failing once when both instances deliver failing attempts, and recovered once', async () => {
    const { url } = await database();
    const code = { status: 500 };
    const flaky = await startReceiver((_req, res) => void res.writeHead(code.status).end());
    const ops = await startReceiver();
    receivers.push(flaky, ops);
    const yaml = `server: { host: 127.0.0.1, port: 0, shutdown_grace: 1s }
storage:
  postgres: { url: "${url}", lease_margin: 1s }
auth:
  admin_tokens: [ { name: ops, token: ${OPS_TOKEN}, scopes: [read, write] } ]
delivery: { allow_private_networks: true, timeout: 2s, retry_schedule: [50ms, 50ms, 50ms, 50ms, 50ms, 50ms, 50ms, 50ms, 50ms, 50ms], jitter: 0 }
alerts: { failing_after: 4 }
log: { level: info, format: json }
subscriptions:
  - { id: flaky, url: "${flaky.url}", events: ["order.*"], signature: { scheme: none } }
  - { id: ops, url: "${ops.url}", events: ["hookrelay.*"], signature: { scheme: standard-webhooks, secret: ${TEST_SECRET} } }
`;
    const [a, b] = [await startChildRelay(tempDir(), yaml), await startChildRelay(tempDir(), yaml)];
    relays.push(a, b);
    for (let i = 0; i < 6; i++) await post(i % 2 === 0 ? a! : b!, { i });
    const isType = (type: string) => (q: Received) => JSON.parse(q.body).type === type;
    await ops.waitFor((r) => r.some(isType('hookrelay.subscription.failing')));
    // Well past the threshold on both instances before the receiver comes back.
    await flaky.waitFor((r) => r.length >= 20);
    code.status = 200;
    await ops.waitFor((r) => r.some(isType('hookrelay.subscription.recovered')));
    const events = async (type: string) => {
      const res = await fetch(`${a!.url}/api/v1/events?type=${type}`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
      return ((await res.json()) as { data: unknown[] }).data;
    };
    expect(await events('hookrelay.subscription.failing')).toHaveLength(1);
    expect(await events('hookrelay.subscription.recovered')).toHaveLength(1);
    expect(ops.received.filter(isType('hookrelay.subscription.failing'))).toHaveLength(1);
  });
});
