import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema';
import { openStore } from '../src/store/open';
import { assertBundleBuilt, BUNDLE, childConfig, runBundle, startChildRelay, type ChildRelay } from './helpers/child';
import { startReceiver, type Receiver } from './helpers/receiver';
import { tempDir, TEST_SECRET } from './helpers/relay';

beforeAll(assertBundleBuilt);

let children: ChildRelay[] = [];
let receivers: Receiver[] = [];
afterEach(async () => {
  for (const c of children) c.proc.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  children = [];
  receivers = [];
});

async function child(dir: string, yaml: string) {
  const c = await startChildRelay(dir, yaml);
  children.push(c);
  return c;
}

async function post(url: string, body: unknown) {
  const res = await fetch(`${url}/ingest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { id: string } };
}

describe('the bundle as a command', () => {
  it('prints its version', async () => {
    const { code, stdout } = await runBundle(['version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^hookrelay \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with usage on an unknown command or flag', async () => {
    const unknown = await runBundle(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect((await runBundle(['serve', '--nope'])).code).toBe(2);
    expect((await runBundle(['serve'])).stderr).toMatch(/--config FILE is required/);
  });

  it('check-config prints every problem with file and line, exit 1, no stack trace', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'server:\n  port: 8080\n  bogus: 1\nsubscriptions:\n  - id: a\n    url: not-a-url\n    signature: { secret: "${MISSING_SECRET}" }\n',
    );
    const { code, stderr } = await runBundle(['check-config', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${file}:3`);
    expect(stderr).toMatch(/bogus/);
    expect(stderr).toMatch(/MISSING_SECRET/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('check-config accepts the example config, also through HOOKRELAY_CONFIG', async () => {
    const { code, stdout, stderr } = await runBundle(['check-config'], { HOOKRELAY_CONFIG: join(__dirname, '../config.example.yaml') });
    expect(code).toBe(0);
    expect(stdout).toMatch(/ok \(1 subscriptions/);
    // Valid, but not for anywhere real: said on stderr, one line each.
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^warning: the example's published tokens are in use/),
      expect.stringMatching(/^warning: delivery.allow_private_networks is true/),
    ]);
    // The Postgres example with the environment docker-compose.example.yml gives it.
    const env = {
      DATABASE_URL: 'postgres://hookrelay:hookrelay@postgres:5432/hookrelay',
      INGEST_TOKEN: 'change-me-ingest-token',
      ADMIN_TOKEN: 'change-me-admin-token-0',
    };
    const compose = readFileSync(join(__dirname, '../docker-compose.example.yml'), 'utf8');
    for (const [key, value] of Object.entries(env)) expect(compose).toContain(`${key}: ${value}`);
    const pg = await runBundle(['check-config', '--config', join(__dirname, '../config.postgres.example.yaml')], env);
    expect(pg.stderr).toBe('');
    expect(pg.stdout).toMatch(/ok \(1 subscriptions, storage: postgres\)/);
  });

  it('gen-secret prints a secret standardwebhooks accepts', async () => {
    const { code, stdout } = await runBundle(['gen-secret']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(stdout.trim())).not.toThrow();
  });

  it('runs from a directory holding only the bundle and the SQLite addon', async () => {
    const dir = tempDir();
    for (const file of ['hookrelay.mjs', 'better_sqlite3.node']) copyFileSync(join(dirname(BUNDLE), file), join(dir, file));
    writeFileSync(join(dir, 'c.yaml'), childConfig(dir, [['a', 'http://127.0.0.1:1/']]));
    const { code, stdout, stderr } = await runBundle(['migrate', '--config', join(dir, 'c.yaml')], {}, join(dir, 'hookrelay.mjs'));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/migrated/);
  });

  it('backup copies the store while a relay runs on it, and the copy holds every acknowledged event', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const dir = tempDir();
    const yaml = childConfig(dir, [['a', rx.url]]);
    const relay = await child(dir, yaml);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await post(relay.url, { type: 'backup.test', data: { i } })).body.id);
    const out = join(dir, 'copies', 'backup.db');
    const backup = (...extra: string[]) => runBundle(['backup', '--config', join(dir, 'config.yaml'), '--out', out, ...extra]);
    // The directory is not made for you.
    expect(await backup()).toEqual({ code: 1, stdout: '', stderr: `hookrelay: the directory of ${out} does not exist; create it first\n` });
    expect(existsSync(join(dir, 'copies'))).toBe(false);
    mkdirSync(join(dir, 'copies'));
    const { code, stdout, stderr } = await backup();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/integrity ok/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const copy = new Database(out, { readonly: true });
    try {
      const stored = copy.prepare('SELECT id FROM events').all() as { id: string }[];
      expect(stored.map((r) => r.id).sort()).toEqual([...ids].sort());
    } finally {
      copy.close();
    }
    expect((await runBundle(['backup', '--config', join(dir, 'config.yaml')])).code).toBe(2);
  });

  it('backup refuses an existing file or symlink unless --force, which replaces the link, never its target', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), childConfig(dir, [['a', 'http://127.0.0.1:1/']]));
    const backup = (out: string, ...extra: string[]) => runBundle(['backup', '--config', join(dir, 'c.yaml'), '--out', out, ...extra]);
    const taken = join(dir, 'taken.db');
    writeFileSync(taken, 'keep me');
    expect(await backup(taken)).toEqual({ code: 1, stdout: '', stderr: `hookrelay: ${taken} exists; pass --force to replace it\n` });
    expect(readFileSync(taken, 'utf8')).toBe('keep me');
    const target = join(tempDir(), 'authorized_keys');
    writeFileSync(target, 'ssh-ed25519 AAAA\n');
    const link = join(dir, 'link.db');
    symlinkSync(target, link);
    expect((await backup(link)).code).toBe(1);
    expect((await backup(link, '--force')).code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('ssh-ed25519 AAAA\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(statSync(link).mode & 0o777).toBe(0o600);
    expect((await backup(taken, '--force')).code).toBe(0);
    expect(readFileSync(taken).subarray(0, 15).toString()).toBe('SQLite format 3');
  });

  it('reencrypt rewrites every stored secret with storage.encryption_key and names the rows it cannot read', async () => {
    const dir = tempDir();
    const [oldKey, newKey, lostKey] = [1, 2, 3].map(() => randomBytes(32).toString('base64'));
    const sqlite = { path: join(dir, 'relay.db'), synchronous: 'normal' as const };
    const write = async (key: string, id: string) => {
      const store = openStore(configSchema.parse({ storage: { sqlite, encryption_key: key } }).storage);
      await store.migrate();
      await store.insertApiSubscription(id, { url: 'https://x.example', signature: { secret: TEST_SECRET } }, 1);
      await store.close();
    };
    await write(oldKey!, 'api-old');
    await write(newKey!, 'api-new');
    const yaml = (keys: string) => `storage: { sqlite: { path: ${sqlite.path} }${keys} }\n`;
    writeFileSync(join(dir, 'c.yaml'), yaml(`, encryption_key: "${newKey}", previous_encryption_keys: ["${oldKey}"]`));
    expect(await runBundle(['reencrypt', '--config', join(dir, 'c.yaml')])).toEqual({
      code: 0,
      stdout: '1 subscription(s) rewritten, 1 already encrypted with storage.encryption_key\n',
      stderr: '',
    });
    const newOnly = openStore(configSchema.parse({ storage: { sqlite, encryption_key: newKey } }).storage);
    expect((await newOnly.listApiSubscriptions()).map((r) => [r.id, r.unreadable, r.spec.signature])).toEqual([
      ['api-new', undefined, { secret: TEST_SECRET }],
      ['api-old', undefined, { secret: TEST_SECRET }],
    ]);
    await newOnly.close();

    await write(lostKey!, 'api-lost');
    const result = await runBundle(['reencrypt', '--config', join(dir, 'c.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('0 subscription(s) rewritten, 2 already encrypted with storage.encryption_key\n');
    expect(result.stderr).toMatch(
      /^hookrelay: subscription 'api-lost' left as it is: a stored secret was encrypted with key [0-9a-f]{8}, which is neither/,
    );
  });

  it('migrate creates the database and exits 0', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), childConfig(dir, [['a', 'http://127.0.0.1:1/']]));
    const { code, stdout } = await runBundle(['migrate', '--config', join(dir, 'c.yaml')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/migrated/);
  });
});

describe('the bundle as a server', () => {
  it('delivers a signed event and logs one line per attempt without secrets', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const dir = tempDir();
    const relay = await child(dir, childConfig(dir, [['example', `${rx.url}/webhooks`]]));
    const { status, body } = await post(relay.url, { type: 'payment.completed', data: { amount: 1 } });
    expect(status).toBe(202);
    await rx.waitFor((r) => r.length === 1);
    expect(new Webhook(TEST_SECRET).verify(rx.received[0]!.body, rx.received[0]!.headers)).toMatchObject({ id: body.id });
    const line = await relay.waitForLog((l) => l.msg === 'attempt succeeded');
    expect(line).toMatchObject({
      event_id: body.id,
      subscription: 'example',
      attempt: 1,
      status: 200,
      delivery_id: expect.stringMatching(/^dlv_/),
    });
    expect(typeof line.duration_ms).toBe('number');
    expect(JSON.stringify(relay.logs)).not.toContain(TEST_SECRET.slice(6));
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
    // The dashboard's assets are inside the bundle.
    const page = await fetch(`${relay.url}/ui/`);
    expect(page.status).toBe(200);
    const script = /src="(\/ui\/assets\/app-[0-9a-f]+\.js)"/.exec(await page.text())?.[1];
    const js = await fetch(`${relay.url}${script}`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect((await js.text()).length).toBeGreaterThan(5000);
  });

  it('warns at start without storage.encryption_key, and keeps its files to itself: directory 0700, database, WAL, SHM and lock 0600', async () => {
    const dir = tempDir();
    const data = join(dir, 'data', 'relay.db');
    const yaml = (extra: string) =>
      childConfig(dir, [['a', 'http://127.0.0.1:1/']]).replace(/^storage: .*$/m, `storage: { sqlite: { path: ${data} }${extra} }`);
    const relay = await child(dir, yaml(''));
    expect(await relay.waitForLog((l) => l.msg === 'storage.encryption_key is not set: signing secrets are stored in clear')).toMatchObject(
      {
        level: 'warn',
      },
    );
    expect((await post(relay.url, { type: 'a.b' })).status).toBe(202);
    expect(statSync(dirname(data)).mode & 0o777).toBe(0o700);
    for (const file of [data, `${data}-wal`, `${data}-shm`, `${data}.lock`])
      expect([file, statSync(file).mode & 0o777]).toEqual([file, 0o600]);
    relay.proc.kill('SIGTERM');
    await relay.exited;

    const keyed = await child(dir, yaml(`, encryption_key: "${randomBytes(32).toString('base64')}"`));
    expect(keyed.logs.some((l) => String(l.msg).includes('encryption_key'))).toBe(false);
  });

  it('loses no acknowledged event when killed with SIGKILL mid-flight', async () => {
    let healthy = false;
    const rx = await startReceiver(() => (healthy ? undefined : new Promise(() => {}))); // hangs until healthy
    receivers.push(rx);
    const dir = tempDir();
    const yaml = childConfig(dir, [['a', rx.url]]);
    const first = await child(dir, yaml);
    const acknowledged: string[] = [];
    for (let i = 0; i < 30; i++) {
      const { status, body } = await post(first.url, { type: 'crash.test', data: { i } });
      if (status === 202) acknowledged.push(body.id);
    }
    expect(acknowledged).toHaveLength(30);
    await rx.waitFor((r) => r.length >= 1); // attempts are in flight, none answered
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    healthy = true;
    const second = await child(dir, yaml);
    await rx.waitFor((r) => acknowledged.every((id) => r.some((x) => x.headers['webhook-id'] === id)), 20_000);
    // SQLite keeps leases in memory: the interrupted attempts were never written as delivering, so
    // nothing is rescued, and they count as not made (each delivery's first recorded attempt is 1).
    await second.waitForLog((l) => l.msg === 'attempt succeeded' && acknowledged.includes(String(l.event_id)));
    expect(second.logs.filter((l) => l.msg === 'deliveries left in flight by a previous process will be tried again')).toEqual([]);
    expect(second.logs.filter((l) => l.msg === 'attempt succeeded').every((l) => l.attempt === 1)).toBe(true);
  });

  it('refuses a second relay on the same SQLite file with one line, and the first keeps working', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const dir = tempDir();
    const first = await child(dir, childConfig(dir, [['a', rx.url]]));
    const second = await runBundle(['serve', '--config', join(dir, 'config.yaml')]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(/^hookrelay: .*relay\.db is already served by another hookrelay process/);
    expect(second.stderr).toContain('storage.postgres');
    const { status, body } = await post(first.url, { type: 'still.here' });
    expect(status).toBe(202);
    await rx.waitFor((r) => r.some((x) => x.headers['webhook-id'] === body.id));
    // A clean stop lets the next process in.
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const third = await child(dir, childConfig(dir, [['a', rx.url]]));
    expect((await fetch(`${third.url}/readyz`)).status).toBe(200);
  });

  it('drains on SIGTERM: attempts in flight finish, nothing is spent, exit 0', async () => {
    const rx = await startReceiver(async () => new Promise((r) => setTimeout(r, 300)));
    receivers.push(rx);
    const dir = tempDir();
    const relay = await child(dir, childConfig(dir, [['slow', rx.url]]));
    const { body } = await post(relay.url, { type: 'drain.test' });
    await rx.waitFor((r) => r.length === 1);
    relay.proc.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const succeeded = relay.logs.find((l) => l.msg === 'attempt succeeded');
    expect(succeeded).toMatchObject({ event_id: body.id, attempt: 1 });
  });

  it('puts attempts still running after the grace period back without spending them', async () => {
    let healthy = false;
    const rx = await startReceiver(() => (healthy ? undefined : new Promise(() => {})));
    receivers.push(rx);
    const dir = tempDir();
    const yaml = childConfig(dir, [['stuck', rx.url]]).replace('shutdown_grace: 2s', 'shutdown_grace: 200ms');
    const first = await child(dir, yaml);
    const { body } = await post(first.url, { type: 'grace.test' });
    await rx.waitFor((r) => r.length === 1);
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs.some((l) => l.msg === 'attempt interrupted by shutdown; delivery put back')).toBe(true);

    healthy = true;
    const second = await child(dir, yaml);
    await rx.waitFor((r) => r.length === 2);
    // The interrupted attempt was not counted: the retry is attempt 1 again.
    expect(rx.received[1]!.headers).toMatchObject({ 'webhook-id': body.id, 'x-hookrelay-attempt': '1' });
    await second.waitForLog((l) => l.msg === 'attempt succeeded');
  });

  it('exits at once on a second SIGTERM', async () => {
    const rx = await startReceiver(() => new Promise(() => {}));
    receivers.push(rx);
    const dir = tempDir();
    const relay = await child(dir, childConfig(dir, [['stuck', rx.url]]).replace('shutdown_grace: 2s', 'shutdown_grace: 60s'));
    await post(relay.url, { type: 'x' });
    await rx.waitFor((r) => r.length === 1);
    relay.proc.kill('SIGTERM');
    await relay.waitForLog((l) => l.msg === 'shutting down: draining attempts in flight');
    relay.proc.kill('SIGTERM');
    expect(await relay.exited).toBe(1);
  });
});
