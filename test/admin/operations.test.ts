import { existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { tempDir, testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';
import { closeAfterEach } from '../helpers/lifecycle';
import { adminClient } from '../helpers/admin-client';

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: VIEWER, scopes: ['read'] },
];
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

let relay: RunningRelay | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const life = closeAfterEach();

const receiver = life.receiver;

const api = adminClient(() => relay!.url, OPS);
const asViewer = adminClient(() => relay!.url, VIEWER);

async function ingest(type: string, data: unknown = {}): Promise<string> {
  const res = await relay!.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const fail500 = (_req: unknown, res: import('node:http').ServerResponse) => void res.writeHead(500).end();

describe('GET /stats', () => {
  it('counts deliveries by status in total and per subscription, with backlog and the oldest waiting one', async () => {
    const ok = await receiver();
    const bad = await receiver(fail500);
    relay = await life.relay(
      testConfig({
        auth: { admin_tokens: adminTokens },
        subscriptions: [
          { id: 'good', url: ok.url, signature },
          { id: 'flaky', url: bad.url, signature },
          { id: 'later', url: bad.url, retry_schedule: ['1h'], signature },
          { id: 'idle', url: ok.url, events: ['never.*'], signature },
        ],
      }),
    );
    const id = await ingest('x.y');
    const statuses = await relay!.until(async () => {
      const ds = (await api('GET', `/events/${id}`)).body.deliveries as Json[];
      const by = Object.fromEntries(ds.map((d) => [d.subscription, d.status]));
      return by.good === 'succeeded' && by.flaky === 'failed' && by.later === 'retrying' ? by : null;
    });
    expect(statuses).toEqual({ good: 'succeeded', flaky: 'failed', later: 'retrying' });
    const created = (await api('GET', `/events/${id}`)).body.timestamp;

    const { status, body } = await asViewer('GET', '/stats');
    expect(status).toBe(200);
    const zero = { pending: 0, retrying: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 };
    expect(body).toEqual({
      deliveries: { ...zero, succeeded: 1, failed: 1, retrying: 1 },
      backlog: 1,
      oldest_waiting_at: created,
      subscriptions: [
        { id: 'flaky', counts: { ...zero, failed: 1 }, backlog: 0, oldest_waiting_at: null },
        { id: 'good', counts: { ...zero, succeeded: 1 }, backlog: 0, oldest_waiting_at: null },
        { id: 'idle', counts: zero, backlog: 0, oldest_waiting_at: null },
        { id: 'later', counts: { ...zero, retrying: 1 }, backlog: 1, oldest_waiting_at: created },
      ],
    });
  });
});

/** A config file for reload tests: SQLite in `dir`, the test admin tokens, these subscription lines. */
function writeConfig(file: string, dir: string, subscriptions: string[]): void {
  const lines = [
    'server: { host: 127.0.0.1, port: 0, shutdown_grace: 2s }',
    `storage: { sqlite: { path: ${join(dir, 'relay.db')}, synchronous: normal } }`,
    'delivery: { allow_private_networks: true, retry_schedule: [50ms, 50ms], jitter: 0 }',
    'auth:',
    '  admin_tokens:',
    ...adminTokens.map((t) => `    - { name: ${t.name}, token: ${t.token}, scopes: [${t.scopes.join(', ')}] }`),
    'subscriptions:',
    ...subscriptions,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const subLine = (id: string, url: string, extra = '') => `  - { id: ${id}, url: "${url}", signature: { secret: ${TEST_SECRET} }${extra} }`;

describe('POST /reload', () => {
  it('applies a valid config (a new subscription gets events); rejects an invalid one with located problems and keeps the old', async () => {
    const rx = await receiver();
    const dir = tempDir();
    const file = join(dir, 'hookrelay.yaml');
    writeConfig(file, dir, [subLine('a', `${rx.url}/a`)]);
    relay = await life.relay(loadConfig(file, {}), { loadConfig: () => loadConfig(file, {}) });

    writeConfig(file, dir, [subLine('a', `${rx.url}/a`), subLine('b', `${rx.url}/b`)]);
    const ok = await api('POST', '/reload');
    expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: { reloaded: true, subscriptions: 2 } });
    const first = await ingest('x.y');
    await rx.waitFor((r) => r.filter((x) => x.headers['webhook-id'] === first).length === 2);
    expect(rx.received.map((x) => x.path).sort()).toEqual(['/a', '/b']);

    writeConfig(file, dir, [
      subLine('a', `${rx.url}/a`),
      subLine('c', 'ftp://nowhere.test/'),
      subLine('d', `${rx.url}/d`, ', colour: red'),
    ]);
    const bad = await api('POST', '/reload');
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toBe(`${file} has 2 problems; the running config is unchanged`);
    expect(bad.body.errors).toEqual([
      { path: `${file}:10: subscriptions[1].url`, message: expect.any(String) },
      { path: `${file}:11: subscriptions[2].colour`, message: "unknown key 'colour'" },
    ]);
    const second = await ingest('x.y');
    await rx.waitFor((r) => r.filter((x) => x.headers['webhook-id'] === second).length === 2);
    expect(
      rx.received
        .filter((x) => x.headers['webhook-id'] === second)
        .map((x) => x.path)
        .sort(),
    ).toEqual(['/a', '/b']);

    const audit = (await api('GET', '/audit')).body.data;
    expect(audit.map((e: Json) => [e.actor, e.action, e.details])).toEqual([
      ['ops', 'config.reload', { rejected: true, problems: 2 }],
      ['ops', 'config.reload', { subscriptions: 2 }],
    ]);
    expect((await asViewer('POST', '/reload')).status).toBe(403);
  });

  it('answers 409 when the relay was not started from a config file', async () => {
    relay = await life.relay(testConfig({ auth: { admin_tokens: adminTokens } }));
    expect(await api('POST', '/reload')).toMatchObject({ status: 409, body: { detail: 'this relay was not started from a config file' } });
  });
});

/** A config whose POST /backup writes into a fresh directory (storage.sqlite.backup_dir); returns both. */
function backupConfig(): { config: ReturnType<typeof testConfig>; backupDir: string } {
  const backupDir = tempDir();
  const sqlite = { path: join(tempDir(), 'hookrelay.db'), synchronous: 'normal', backup_dir: backupDir };
  return { config: testConfig({ auth: { admin_tokens: adminTokens }, storage: { sqlite } }), backupDir };
}

describe('POST /backup', () => {
  it('writes a consistent copy, mode 0600, inside backup_dir, that passes integrity_check and holds the events', async () => {
    const { config, backupDir } = backupConfig();
    relay = await life.relay(config);
    const ids = [await ingest('a.b', { n: 1 }), await ingest('a.c', { n: 2 })];
    const path = join(backupDir, 'copy.db');
    const res = await api('POST', '/backup', { name: 'copy.db' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'copy.db', path, bytes: expect.any(Number) });
    expect(res.body.bytes).toBeGreaterThan(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Nothing else is left in the directory (the private work directory is gone).
    expect(readdirSync(backupDir)).toEqual(['copy.db']);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = db.prepare('SELECT id, type, data FROM events ORDER BY id').all();
      expect(rows).toEqual([
        { id: ids[0], type: 'a.b', data: '{"n":1}' },
        { id: ids[1], type: 'a.c', data: '{"n":2}' },
      ]);
    } finally {
      db.close();
    }
    const audit = (await api('GET', '/audit')).body.data;
    expect(audit[0]).toMatchObject({
      actor: 'ops',
      action: 'store.backup',
      target: null,
      details: { name: 'copy.db', path, bytes: res.body.bytes },
    });
  });

  it('never overwrites a file nor follows a symlink, takes only plain names, and needs the write scope', async () => {
    const { config, backupDir } = backupConfig();
    relay = await life.relay(config);
    const existing = join(backupDir, 'taken.db');
    writeFileSync(existing, 'keep me');
    expect(await api('POST', '/backup', { name: 'taken.db' })).toMatchObject({
      status: 409,
      body: { detail: 'taken.db exists in the backup directory; a backup never overwrites a file' },
    });
    expect(readFileSync(existing, 'utf8')).toBe('keep me');

    // A symlink planted at the name (say to ~/.ssh/authorized_keys) is neither followed nor replaced.
    const outside = join(tempDir(), 'authorized_keys');
    writeFileSync(outside, 'ssh-ed25519 AAAA the real key\n');
    symlinkSync(outside, join(backupDir, 'planted.db'));
    symlinkSync(join(tempDir(), 'nothing-here'), join(backupDir, 'dangling.db'));
    expect((await api('POST', '/backup', { name: 'planted.db' })).status).toBe(409);
    expect((await api('POST', '/backup', { name: 'dangling.db' })).status).toBe(409);
    expect(readFileSync(outside, 'utf8')).toBe('ssh-ed25519 AAAA the real key\n');
    expect(lstatSync(join(backupDir, 'planted.db')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(backupDir, 'dangling.db'))).toBe(false);

    const escaping = ['../x.db', 'a/b', '/etc/cron.d/hookrelay', '..', '.', 'a\\b', 'nul\u0000.db', 'tab\t.db', 'é'.repeat(128), ''];
    for (const name of escaping) {
      expect(await api('POST', '/backup', { name }), JSON.stringify(name)).toMatchObject({
        status: 400,
        body: { errors: [{ path: 'name' }] },
      });
    }
    expect(await api('POST', '/backup', {})).toMatchObject({ status: 400, body: { errors: [{ path: 'name' }] } });
    expect((await api('POST', '/backup', { path: join(backupDir, 'x.db') })).status).toBe(400);
    expect(existsSync(join(dirname(backupDir), 'x.db'))).toBe(false);
    const viewer = await asViewer('POST', '/backup', { name: 'x.db' });
    expect(viewer.status).toBe(403);
    expect(readdirSync(backupDir).sort()).toEqual(['dangling.db', 'planted.db', 'taken.db']);
  });

  it('refuses the live database and its companion files when backup_dir is the data directory', async () => {
    const dataDir = tempDir();
    const sqlite = { path: join(dataDir, 'hookrelay.db'), synchronous: 'normal', backup_dir: dataDir };
    relay = await life.relay(testConfig({ auth: { admin_tokens: adminTokens }, storage: { sqlite } }));
    await ingest('a.b');
    const before = readdirSync(dataDir).sort();
    for (const name of ['hookrelay.db', 'hookrelay.db-wal', 'hookrelay.db-shm', 'hookrelay.db-journal', 'hookrelay.db.lock']) {
      expect(await api('POST', '/backup', { name }), name).toMatchObject({
        status: 409,
        body: { type: expect.stringMatching(/file-exists$/) },
      });
    }
    expect(readdirSync(dataDir).sort()).toEqual(before);
    expect((await api('POST', '/backup', { name: 'copy.db' })).status).toBe(200);
    expect((await relay.post('/ingest', { type: 'a.b' })).status).toBe(202);
  });

  it('answers 409 and writes nothing without storage.sqlite.backup_dir', async () => {
    relay = await life.relay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const dataDir = dirname(relay.config.storage.sqlite!.path);
    const before = readdirSync(dataDir).sort();
    expect(await api('POST', '/backup', { name: 'copy.db' })).toMatchObject({
      status: 409,
      body: { detail: 'storage.sqlite.backup_dir is not set: set it to the directory backups may be written to' },
    });
    expect(readdirSync(dataDir).sort()).toEqual(before);
    expect(existsSync(join(process.cwd(), 'copy.db'))).toBe(false);
  });
});

describe('GET /audit', () => {
  it('lists every admin write newest first with the token name, paginated', async () => {
    const { config, backupDir: dir } = backupConfig();
    relay = await life.relay(config);
    const eventId = await ingest('a.b');
    for (let i = 0; i < 3; i++) expect((await api('POST', '/backup', { name: `b${i}.db` })).status).toBe(200);
    expect((await api('POST', `/events/${eventId}/replay`, { subscriptions: [] })).status).toBe(400); // rejected: not recorded
    const seen: Json[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: Json } = await asViewer('GET', `/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data);
      cursor = res.body.next_cursor;
    } while (cursor !== null);
    expect(seen.map((e) => [e.actor, e.action, e.details.path])).toEqual(
      [2, 1, 0].map((i) => ['ops', 'store.backup', join(dir, `b${i}.db`)]),
    );
    for (const e of seen)
      expect(e).toEqual({
        id: expect.stringMatching(/^aud_/),
        at: expect.stringMatching(/Z$/),
        actor: 'ops',
        action: 'store.backup',
        target: null,
        details: expect.any(Object),
      });
    expect((await api('GET', '/audit?cursor=zzz')).status).toBe(400);
  });
});
