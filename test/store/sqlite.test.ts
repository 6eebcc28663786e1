import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createKysely, migrateToLatest } from '../../src/store/sqlite/kysely';
import { openDatabase } from '../../src/store/sqlite/open-database';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { SQL } from '../../src/store/sqlite/statements';
import type { NewEvent, Store } from '../../src/store/types';
import { describeStoreContract } from './contract';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A database path in a fresh temp directory, under a folder that does not exist yet. */
function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-store-'));
  tempDirs.push(dir);
  return join(dir, 'nested', 'data', 'hookrelay.db');
}

describeStoreContract('sqlite file', async () => createSqliteStore({ path: tempDbPath(), synchronous: 'full' }));
describeStoreContract('sqlite :memory:', async () => createSqliteStore({ path: ':memory:', synchronous: 'normal' }));

const T = 1_700_000_000_000;

function event(id: string, subscriptionIds = ['a']): NewEvent {
  return { id, type: 'order.created', data: '{"n":1}', contentHash: `h-${id}`, createdAt: T, subscriptionIds };
}

/** Opens a second, raw connection to look at what the store wrote. */
function inspect<R>(path: string, fn: (db: Database.Database) => R): R {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function withStore<R>(path: string, synchronous: 'full' | 'normal', fn: (store: Store) => Promise<R>): Promise<R> {
  const store = createSqliteStore({ path, synchronous });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('SQLite store', () => {
  it('keeps data across close and reopen of the file', async () => {
    const path = tempDbPath();
    const deliveryId = await withStore(path, 'full', async (store) => {
      await store.migrate();
      await store.ingest([[event('evt_durable', ['a', 'b'])]]);
      const [claimed] = await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 1000 }], 'p1', T);
      return claimed!.id;
    });

    await withStore(path, 'full', async (store) => {
      expect(await store.ready()).toBe(true);
      await store.migrate();
      expect((await store.getEvent('evt_durable'))?.deliveryCount).toBe(2);
      expect(await store.getDelivery(deliveryId)).toMatchObject({ status: 'delivering' });
      // The process that held the lease is gone: its delivery comes back after expiry.
      expect(await store.rescueExpired(T + 1000)).toBe(1);
      expect(await store.countDeliveriesByStatus()).toMatchObject({ pending: 2, delivering: 0 });
    });
  });

  it('opens in WAL mode with the configured synchronous level', async () => {
    const path = tempDbPath();
    await withStore(path, 'full', async (store) => {
      await store.migrate();
      // journal_mode=WAL is stored in the file itself, so another connection sees it.
      expect(inspect(path, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
    });
    // synchronous and the others are per connection: check the connections openDatabase makes.
    for (const level of ['full', 'normal'] as const) {
      const db = openDatabase({ path: tempDbPath(), synchronous: level });
      try {
        expect(db.pragma('synchronous', { simple: true })).toBe(level === 'full' ? 2 : 1);
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      } finally {
        db.close();
      }
    }
  });

  it('migrate twice is a no-op, and ready() says whether migrations are applied', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      expect(await store.ready()).toBe(false);
      await store.migrate();
      const schemaBefore = inspect(path, schemaOf);
      await store.migrate();
      expect(inspect(path, schemaOf)).toEqual(schemaBefore);
      expect(inspect(path, (db) => db.prepare('SELECT name FROM kysely_migration').pluck().all())).toEqual(['0001-init']);
      expect(await store.ready()).toBe(true);
    });
  });

  it('ready() is false once closed; close twice is fine', async () => {
    const store = createSqliteStore({ path: ':memory:', synchronous: 'normal' });
    await store.migrate();
    await store.close();
    await store.close();
    expect(await store.ready()).toBe(false);
  });

  it('throws SQLite errors instead of swallowing them', async () => {
    await withStore(':memory:', 'normal', async (store) => {
      // Not migrated: the tables are missing.
      await expect(store.ingest([[event('evt_x')]])).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
      await store.migrate();
      expect(await store.ingest([[event('evt_x')]])).toHaveLength(1);
    });
  });

  it('a failed migration throws and leaves nothing of itself behind', async () => {
    const db = new Database(':memory:');
    const kysely = createKysely(db);
    try {
      const broken: Migration = {
        async up(trx) {
          await sql`CREATE TABLE half_done (id TEXT)`.execute(trx);
          await sql`THIS IS NOT SQL`.execute(trx);
        },
      };
      const provider = { getMigrations: async () => ({ '0001-broken': broken }) };
      await expect(migrateToLatest(kysely, provider)).rejects.toThrow(/0001-broken/);
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half_done'`).all();
      expect(tables).toEqual([]);
      expect(db.prepare('SELECT count(*) FROM kysely_migration').pluck().get()).toBe(0);
    } finally {
      await kysely.destroy();
    }
  });

  it('two stores on one file never hand out the same delivery', async () => {
    const path = tempDbPath();
    const one = createSqliteStore({ path, synchronous: 'normal' });
    const two = createSqliteStore({ path, synchronous: 'normal' });
    try {
      await one.migrate();
      await two.migrate();
      await one.ingest(Array.from({ length: 20 }, (_, i) => [event(`evt_${i}`)]));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? one : two).claim([{ subscriptionId: 'a', limit: 3, leaseExpiresAt: T + 1000 }], `p${i}`, T),
        ),
      );
      const ids = claims.flat().map((c) => c.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('claims, nextDueAt and rescue use their partial indexes', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      const plans = inspect(path, (db) => ({
        selectDue: planOf(db, SQL.selectDue, { subscriptionId: 'a', now: T, limit: 10 }),
        nextDue: planOf(db, SQL.nextDue, { subscriptionId: 'a' }),
        rescue: planOf(db, SQL.rescueExpired, { now: T, expiredBy: T }),
        release: planOf(db, SQL.release, { id: 'dlv_x', owner: 'p', now: T }),
      }));
      expect(plans.selectDue).toMatch(/deliveries_due/);
      expect(plans.selectDue).not.toMatch(/TEMP B-TREE/);
      expect(plans.nextDue).toMatch(/deliveries_due/);
      expect(plans.rescue).toMatch(/deliveries_lease/);
      expect(plans.release).toMatch(/sqlite_autoindex_deliveries_1|PRIMARY KEY/);
    });
  });
});

function schemaOf(db: Database.Database): unknown[] {
  return db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
}

function planOf(db: Database.Database, statement: string, params: Record<string, unknown>): string {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(params) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}
