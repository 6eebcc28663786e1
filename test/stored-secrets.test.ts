import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema';
import { quoteIdent } from '../src/store/postgres/connect';
import { openBackend, openStore } from '../src/store/open';
import { resealSpecs } from '../src/store/sealed-specs';
import { createSecretBox } from '../src/store/secret-box';
import type { Store } from '../src/store/types';
import { adminClient } from './helpers/admin-client';
import { closeAfterEach } from './helpers/lifecycle';
import { captureLogs } from './helpers/log-capture';
import { tempDir, testConfig, TEST_SECRET } from './helpers/relay';

// SPEC 13: with storage.encryption_key, signing secrets, private keys and custom header values of
// API subscriptions are stored encrypted, on both backends; previous keys still decrypt; a row no
// configured key opens is skipped, not fatal.

const OPS = 'ops-token-0123456789';
const KEY = randomBytes(32).toString('base64');
const OLD_KEY = randomBytes(32).toString('base64');
const HEADER_VALUE = 'hdr-value-9f8e7d6c5b4a';
const life = closeAfterEach();

/** A relay config on a SQLite file in a fresh directory, with these storage keys. */
function relayConfig(storage: Record<string, unknown>, path = join(tempDir(), 'hookrelay.db')) {
  return testConfig({
    auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
    storage: { sqlite: { path, synchronous: 'normal' }, ...storage },
  });
}

/**
 * A new SQLite file whose API subscription 'a' (and whatever `more` adds) is sealed with OLD_KEY;
 * answers the storage config of that file under other keys.
 */
async function sealedWithOldKey(more: (store: Store) => Promise<unknown> = async () => {}) {
  const path = join(tempDir(), 'hookrelay.db');
  const storage = (keys: Record<string, unknown>) => relayConfig(keys, path).storage;
  const before = openStore(storage({ encryption_key: OLD_KEY }));
  await before.migrate();
  await before.insertApiSubscription('a', { url: 'https://a.example', headers: { 'X-Api-Key': 'ka' } }, 1);
  await more(before);
  await before.close();
  return storage;
}

/** Every file beside the database (the database, its WAL and SHM, the lock), with the bytes of each. */
function filesBeside(path: string): [string, Buffer][] {
  const dir = dirname(path);
  return readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]);
}

function expectNowhere(path: string, secrets: string[]): void {
  const files = filesBeside(path);
  expect(files.map(([f]) => f)).toContain('hookrelay.db');
  for (const [file, bytes] of files) for (const s of secrets) expect([file, s, bytes.includes(s)]).toEqual([file, s, false]);
}

describe('secrets of API subscriptions at rest (SQLite)', () => {
  it('are stored encrypted with storage.encryption_key (file and WAL), and requests are still signed with them', async () => {
    const receiver = await life.receiver();
    const config = relayConfig({ encryption_key: KEY });
    const relay = await life.relay(config);
    const api = adminClient(() => relay.url, OPS);
    const created = await api('POST', '/subscriptions', {
      id: 'sealed',
      url: receiver.url,
      signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
      headers: { 'X-Api-Key': HEADER_VALUE },
    });
    expect(created.status).toBe(201);
    const ed = await api('POST', '/subscriptions', {
      id: 'sealed-ed',
      url: receiver.url,
      events: ['never.*'],
      signature: { scheme: 'ed25519' },
    });
    expect(ed.status).toBe(201);
    const privateKey: string = ed.body.signature.secret;
    expect(privateKey).toMatch(/^whsk_/);

    expect((await relay.post('/ingest', { type: 'a.b', data: { n: 1 } })).status).toBe(202);
    await receiver.waitFor((r) => r.length === 1);
    const req = receiver.received[0]!;
    expect(new Webhook(TEST_SECRET).verify(req.body, req.headers)).toMatchObject({ type: 'a.b' });
    expect(req.headers['x-api-key']).toBe(HEADER_VALUE);

    const secrets = [TEST_SECRET, TEST_SECRET.slice('whsec_'.length), privateKey, privateKey.slice('whsk_'.length), HEADER_VALUE];
    // While it runs (the WAL holds the recent pages) and after it stopped.
    expectNowhere(config.storage.sqlite!.path, secrets);
    await relay.stop();
    expectNowhere(config.storage.sqlite!.path, secrets);

    // Read back by a relay with the key, the subscriptions are whole again.
    const again = await life.relay(config);
    expect(again.app.subscriptions.get('sealed')?.def.signature.secret).toBe(TEST_SECRET);
    expect(again.app.subscriptions.get('sealed')?.def.headers).toEqual({ 'X-Api-Key': HEADER_VALUE });
    expect(again.app.subscriptions.get('sealed-ed')?.def.signature.secret).toBe(privateKey);
  });

  it('still reads specs stored in clear before the key was set, and encrypts them when rewritten', async () => {
    const path = join(tempDir(), 'hookrelay.db');
    const clear = await life.relay(relayConfig({}, path));
    const headers = { 'X-Api-Key': HEADER_VALUE };
    expect(
      (await adminClient(() => clear.url, OPS)('POST', '/subscriptions', { id: 'old', url: 'http://127.0.0.1:9/', headers })).status,
    ).toBe(201);
    await clear.stop();
    expect(filesBeside(path).some(([, bytes]) => bytes.includes(HEADER_VALUE))).toBe(true);

    const config = relayConfig({ encryption_key: KEY }, path);
    const sealed = await life.relay(config);
    expect(sealed.app.subscriptions.get('old')?.def.headers).toEqual(headers);
    expect((await adminClient(() => sealed.url, OPS)('PATCH', '/subscriptions/old', { description: 'rewritten' })).status).toBe(200);
    await sealed.stop();
    expectNowhere(path, [HEADER_VALUE]);
  });

  it('skips a row that no configured key opens, with an error log; the others load, PATCH answers 409, DELETE works', async () => {
    const path = join(tempDir(), 'hookrelay.db');
    const first = await life.relay(relayConfig({ encryption_key: OLD_KEY }, path));
    const api1 = adminClient(() => first.url, OPS);
    expect((await api1('POST', '/subscriptions', { id: 'locked', url: 'http://127.0.0.1:9/', headers: { 'X-Api-Key': 'k' } })).status).toBe(
      201,
    );
    await first.stop();
    const plain = await life.relay(relayConfig({}, path));
    expect(
      (
        await adminClient(() => plain.url, OPS)('POST', '/subscriptions', {
          id: 'open',
          url: 'http://127.0.0.1:9/',
          signature: { scheme: 'none' },
        })
      ).status,
    ).toBe(201);
    await plain.stop();

    const logs = captureLogs('info');
    const relay = await life.relay(relayConfig({ encryption_key: KEY }, path), { logger: logs.logger });
    const api = adminClient(() => relay.url, OPS);
    expect(relay.app.subscriptions.get('open')).toBeDefined();
    expect(relay.app.subscriptions.get('locked')).toBeUndefined();
    const skipped = logs.entries().find((e) => e.msg === 'stored API subscription cannot be decrypted; skipped');
    expect(skipped).toMatchObject({
      level: 'error',
      subscription: 'locked',
      error: expect.stringMatching(/neither storage.encryption_key nor in storage.previous_encryption_keys/),
    });
    expect(await api('PATCH', '/subscriptions/locked', { description: 'x' })).toMatchObject({
      status: 409,
      body: { detail: expect.stringMatching(/^subscription 'locked' cannot be read: a stored secret was encrypted with key [0-9a-f]{8}/) },
    });
    expect((await api('POST', '/subscriptions/locked/rotate-secret', {})).status).toBe(409);
    expect((await api('DELETE', '/subscriptions/locked')).status).toBe(204);
    expect(await relay.store.getApiSubscription('locked')).toBeNull();
  });

  it('reads rows of a previous key after a rotation, writes with the current one, and reseals every row', async () => {
    const storage = await sealedWithOldKey((before) =>
      before.insertApiSubscription('b', { url: 'https://b.example', signature: { secret: TEST_SECRET } }, 1),
    );

    const rotatedStorage = storage({ encryption_key: KEY, previous_encryption_keys: [OLD_KEY] });
    const rotated = openStore(rotatedStorage);
    expect((await rotated.listApiSubscriptions()).map((r) => r.spec)).toEqual([
      { url: 'https://a.example', headers: { 'X-Api-Key': 'ka' } },
      { url: 'https://b.example', signature: { secret: TEST_SECRET } },
    ]);
    await rotated.updateApiSubscription('a', { url: 'https://a.example', headers: { 'X-Api-Key': 'ka2' } }, 2);
    await rotated.close();

    const backend = openBackend(rotatedStorage);
    expect(await resealSpecs(backend, createSecretBox({ current: KEY, previous: [OLD_KEY] }), 3)).toEqual({
      rewritten: ['b'],
      current: 1,
      unreadable: [],
    });
    await backend.close();
    const newOnly = openStore(storage({ encryption_key: KEY }));
    expect((await newOnly.listApiSubscriptions()).map((r) => [r.id, r.unreadable, r.spec])).toEqual([
      ['a', undefined, { url: 'https://a.example', headers: { 'X-Api-Key': 'ka2' } }],
      ['b', undefined, { url: 'https://b.example', signature: { secret: TEST_SECRET } }],
    ]);
    await newOnly.close();
    const oldOnly = openStore(storage({ encryption_key: OLD_KEY }));
    expect((await oldOnly.listApiSubscriptions()).map((r) => r.unreadable)).toEqual([expect.any(String), expect.any(String)]);
    await oldOnly.close();
  });
});

describe('reencrypt beside a running relay', () => {
  it('never overwrites an edit made between its read and its write: it reads the row again', async () => {
    const storage = await sealedWithOldKey();

    const rotatedStorage = storage({ encryption_key: KEY, previous_encryption_keys: [OLD_KEY] });
    // The relay (restarted with the new key) edits the row right after reencrypt has read it.
    const relayStore = openStore(rotatedStorage);
    const backend = openBackend(rotatedStorage);
    let edited = false;
    const racing = {
      ...backend,
      async updateApiSubscription(...args: Parameters<typeof backend.updateApiSubscription>) {
        if (!edited) {
          edited = true;
          await relayStore.updateApiSubscription('a', { url: 'https://a.example', headers: { 'X-Api-Key': 'edited' } }, 2);
        }
        return backend.updateApiSubscription(...args);
      },
    };
    expect(await resealSpecs(racing, createSecretBox({ current: KEY, previous: [OLD_KEY] }), 3)).toEqual({
      rewritten: [],
      current: 1,
      unreadable: [],
    });
    expect(edited).toBe(true);
    await backend.close();
    await relayStore.close();
    const newOnly = openStore(storage({ encryption_key: KEY }));
    expect(await newOnly.getApiSubscription('a')).toMatchObject({ spec: { headers: { 'X-Api-Key': 'edited' } }, updatedAt: 2 });
    await newOnly.close();
  });
});

describe('secrets of API subscriptions at rest (Postgres)', () => {
  const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Pool({ connectionString: URL, max: 2 });
  const schema = `hookrelay_secrets_${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
  });

  it('stores them encrypted with storage.encryption_key, reads them back whole, and rotates', async () => {
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    const url = `${URL}${URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const storage = (keys: Record<string, unknown>) => configSchema.parse({ storage: { postgres: { url }, ...keys } }).storage;
    const spec = {
      url: 'https://pg.example',
      signature: { secret: TEST_SECRET, previous_secrets: [{ secret: 'whsec_previous_one_abcdef', expires: '2030-01-01T00:00:00Z' }] },
      headers: { 'X-Api-Key': HEADER_VALUE },
    };
    const store = openStore(storage({ encryption_key: OLD_KEY }));
    try {
      await store.migrate();
      await store.insertApiSubscription('pg-1', spec, 1);
      expect(await store.getApiSubscription('pg-1')).toMatchObject({ spec });
    } finally {
      await store.close();
    }
    const raw = async () =>
      (await admin.query(`SELECT spec FROM ${quoteIdent(schema)}.api_subscriptions`)).rows.map((r) => r.spec).join('\n');
    for (const secret of [TEST_SECRET, 'whsec_previous_one_abcdef', HEADER_VALUE]) expect(await raw()).not.toContain(secret);
    expect(await raw()).toContain('https://pg.example');

    const rotated = openStore(storage({ encryption_key: KEY, previous_encryption_keys: [OLD_KEY] }));
    try {
      expect(await rotated.getApiSubscription('pg-1')).toMatchObject({ spec });
    } finally {
      await rotated.close();
    }
    const withoutKey = openStore(storage({}));
    try {
      expect(await withoutKey.getApiSubscription('pg-1')).toMatchObject({
        unreadable: expect.stringMatching(/storage.encryption_key is not set/),
      });
    } finally {
      await withoutKey.close();
    }
  });
});

describe('config of storage encryption', () => {
  it('takes base64 of exactly 32 bytes, for the key and each previous key', () => {
    const parse = (storage: Record<string, unknown>) => configSchema.safeParse({ storage });
    expect(parse({ encryption_key: KEY, previous_encryption_keys: [OLD_KEY] }).success).toBe(true);
    for (const bad of ['', 'c2hvcnQ=', randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), `${KEY.slice(0, -2)}!!`]) {
      const result = parse({ encryption_key: bad });
      expect(result.success, bad).toBe(false);
      expect(result.error?.issues[0]).toMatchObject({
        path: ['storage', 'encryption_key'],
        message: 'expected base64 of exactly 32 bytes (make one with: openssl rand -base64 32)',
      });
    }
    expect(parse({ previous_encryption_keys: ['nope'] }).error?.issues[0]?.path).toEqual(['storage', 'previous_encryption_keys', 0]);
    expect(configSchema.parse({ storage: { sqlite: { backup_dir: '/var/backups/hookrelay' } } }).storage.sqlite?.backup_dir).toBe(
      '/var/backups/hookrelay',
    );
  });
});
