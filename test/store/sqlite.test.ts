import {
  chmodSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { init } from '../../migrations/sqlite/0001-init';
import { admin } from '../../migrations/sqlite/0002-admin';
import { ADMIN_SQL } from '../../src/store/sqlite/admin-statements';
import { createKysely, migrateToLatest } from '../../src/store/sqlite/kysely';
import { immediateWriter, relaxedWriter } from '../../src/store/sqlite/write-transaction';
import { auditListingSql, deliveryListingSql, eventListingSql, type ListingSql } from '../../src/store/sqlite/listings';
import { backupDatabase } from '../../src/store/sqlite/backup';
import { openDatabase } from '../../src/store/sqlite/open-database';
import { ANNOUNCE_RECOVERED_AMONG_SQL } from '../../src/store/sqlite/operational';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { PRUNE_SQL } from '../../src/store/sqlite/prune';
import { STATS_SQL } from '../../src/store/sqlite/reads';
import { TENANT_SQL, tenantListingSql } from '../../src/store/sqlite/tenants';
import { planTenantListing } from '../../src/store/sql/tenant-plan';
import { SQL } from '../../src/store/sqlite/statements';
import type { DeliveryQuery, DeliveryStatus, NewEvent, Store } from '../../src/store/types';
import { describeStoreContract } from './contract';
import { result } from './fixtures';

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
      // Leases live in the process that took them: with it gone, the delivery is waiting again at
      // once, with nothing to rescue.
      expect(await store.getDelivery(deliveryId)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await store.countDeliveriesByStatus()).toMatchObject({ pending: 2, delivering: 0 });
      expect(await store.rescueExpired(T + 1000)).toBe(0);
      const [again] = await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 1000 }], 'p2', T);
      expect(again?.id).toBe(deliveryId);
    });
  });

  it('commits dispatch bookkeeping without fsync but keeps every other write FULL', () => {
    const db = openDatabase({ path: tempDbPath(), synchronous: 'full' });
    try {
      const level = () => db.pragma('synchronous', { simple: true });
      const relaxed = relaxedWriter(db, 'full')(() => level());
      const durable = immediateWriter(db)(() => level());
      expect(relaxed()).toBe(1); // NORMAL inside a claim/complete/release transaction
      expect(level()).toBe(2); // and FULL again right after, for the next ingest
      expect(durable()).toBe(2);
      const failing = relaxedWriter(
        db,
        'full',
      )(() => {
        throw new Error('boom');
      });
      expect(failing).toThrow('boom');
      expect(level()).toBe(2); // restored even when the transaction fails
    } finally {
      db.close();
    }
  });

  it('answers an ingest only after its WAL file is flushed (synchronous: full), off the event loop', async () => {
    const path = tempDbPath();
    const flushed: number[] = [];
    let release = () => {};
    const syncFd = (fd: number) => {
      flushed.push(fstatSync(fd).ino);
      return new Promise<void>((r) => (release = r));
    };
    const store = createSqliteStore({ path, synchronous: 'full' }, { syncFd });
    try {
      await store.migrate();
      let answered = false;
      const ingest = store.ingest([[event('e1')]]).then((r) => ((answered = true), r));
      // The commit is done (another connection sees the row) but the flush has not finished: no answer yet.
      await new Promise((r) => setTimeout(r, 50));
      expect(inspect(path, (db) => db.prepare('SELECT count(*) AS n FROM events').get())).toEqual({ n: 1 });
      expect(answered).toBe(false);
      // What is flushed is the WAL file that holds the commit.
      expect(flushed).toEqual([statSync(`${path}-wal`).ino]);
      release();
      expect(await ingest).toEqual([{ kind: 'ok', events: [{ id: 'e1', deliveries: 1, created: true }] }]);
    } finally {
      release();
      await store.close();
    }
    // synchronous: normal promises survival of a process crash only: no flush.
    const normal = createSqliteStore({ path: tempDbPath(), synchronous: 'normal' }, { syncFd });
    await normal.migrate();
    await normal.ingest([[event('e2')]]);
    await normal.close();
    expect(flushed).toHaveLength(1);
  });

  it('fails an ingest whose WAL flush fails (the caller gets an error, not a 2xx)', async () => {
    const store = createSqliteStore(
      { path: tempDbPath(), synchronous: 'full' },
      { syncFd: async () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) },
    );
    try {
      await store.migrate();
      await expect(store.ingest([[event('e1')]])).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      await store.close();
    }
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
      expect(inspect(path, (db) => db.prepare('SELECT name FROM kysely_migration').pluck().all())).toEqual([
        '0001-init',
        '0002-admin',
        '0003-scheduling',
        '0004-subscription-changes',
        '0005-tenants',
        '0006-tenant-tokens',
        '0007-tenant-erasures',
        '0008-event-types',
        '0009-portal',
        '0010-event-test-flag',
        '0011-operational-events',
      ]);
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

  it('concurrent claims of many owners never hand out the same delivery (leases in memory)', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await store.ingest(Array.from({ length: 20 }, (_, i) => [event(`evt_${i}`)]));
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claim([{ subscriptionId: 'a', limit: 3, leaseExpiresAt: T + 1000 }], `p${i}`, T)),
      );
      const ids = claims.flat().map((c) => c.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      // None is left to claim while the leases hold, and the file still says they wait: no write per claim.
      expect(await store.claim([{ subscriptionId: 'a', limit: 3, leaseExpiresAt: T + 1000 }], 'late', T)).toEqual([]);
      expect(await store.countDeliveriesByStatus()).toMatchObject({ pending: 0, delivering: 20 });
      const inFile = inspect(path, (db) => db.prepare(`SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status`).all());
      expect(inFile).toEqual([{ status: 'pending', n: 20 }]);
    });
  });

  it('keeps a lease whose result could not be written, so the retried write lands and nobody claims it meanwhile', async () => {
    const path = tempDbPath();
    const store = createSqliteStore({ path, synchronous: 'normal', busyTimeoutMs: 20 });
    try {
      await store.migrate();
      await store.ingest([[event('evt_busy')]]);
      const [leased] = await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 60_000 }], 'p1', T);
      // Another connection holds the write lock: the completion fails with SQLITE_BUSY.
      const other = new Database(path);
      other.exec('BEGIN IMMEDIATE');
      await expect(store.complete([result(leased!.id, 'p1', { status: 'succeeded' })], T + 10)).rejects.toMatchObject({
        code: 'SQLITE_BUSY',
      });
      other.exec('ROLLBACK');
      other.close();
      expect(await store.getDelivery(leased!.id)).toMatchObject({ status: 'delivering', attempts: 0 });
      expect(await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 60_000 }], 'p2', T + 20)).toEqual([]);
      expect(await store.complete([result(leased!.id, 'p1', { status: 'succeeded' })], T + 30)).toEqual([true]);
      expect(await store.getDelivery(leased!.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      // The lease ended with the write: a second result for it is refused as a lost lease.
      expect(await store.complete([result(leased!.id, 'p1', { status: 'succeeded' })], T + 40)).toEqual([false]);
    } finally {
      await store.close();
    }
  });

  it('gives back, at its first rescue, rows an older version left delivering in the file', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await store.ingest([[event('evt_old', ['a'])]]);
    });
    const file = new Database(path);
    file.prepare(`UPDATE deliveries SET status = 'delivering', lease_owner = 'old', lease_expires_at = ${T + 60_000}`).run();
    file.close();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      expect(await store.countDeliveriesByStatus()).toMatchObject({ delivering: 1, pending: 0 });
      expect(await store.rescueExpired(T)).toBe(1);
      expect(await store.countDeliveriesByStatus()).toMatchObject({ delivering: 0, pending: 1 });
      expect(await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 1000 }], 'new', T)).toHaveLength(1);
    });
  });

  it("writes a batch's successes by primary key, never scanning subscription_state", async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => store.migrate());
    const plans = inspect(path, (db) => [
      planOf(db, SQL.recordSuccesses, { ids: '["a","b"]', now: T }),
      planOf(db, ANNOUNCE_RECOVERED_AMONG_SQL, { ids: '["a","b"]' }),
    ]);
    expect(plans[0]).not.toMatch(/SCAN subscription_state/);
    expect(plans[1]).toMatch(/SEARCH subscription_state USING INDEX sqlite_autoindex_subscription_state_1 \(id=\?\)/);
  });

  it('claims, the waiting scan, nextDueAt and rescue use their partial indexes', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      const plans = inspect(path, (db) => ({
        selectWindow: planOf(db, SQL.selectWindow, { subscriptionId: 'a', limit: 10 }),
        selectWindowGuarded: planOf(db, SQL.selectWindowGuarded, { subscriptionId: 'a', limit: 10 }),
        selectRows: planOf(db, SQL.selectRows, { subscriptionId: 'a' }),
        selectRowsGuarded: planOf(db, SQL.selectRowsGuarded, { subscriptionId: 'a' }),
        claimRow: planOf(db, SQL.claimRow, { id: 'dlv_1' }),
        waiting: planOf(db, SQL.waiting, {}),
        nextDue: planOf(db, SQL.nextDue, { subscriptionId: 'a' }),
        rescue: planOf(db, SQL.rescueExpired, { now: T, expiredBy: T }),
        dueOrder: planOf(db, SQL.dueOrder, { subscriptionId: 'a', limit: 3 }),
        fifoHead: planOf(db, SQL.fifoHead, { subscriptionId: 'a' }),
      }));
      expect(plans.selectWindow).toMatch(/deliveries_due/);
      expect(plans.selectWindow).not.toMatch(/TEMP B-TREE/);
      expect(plans.selectWindowGuarded).toMatch(/deliveries_due/);
      expect(plans.selectWindowGuarded).not.toMatch(/TEMP B-TREE/);
      expect(plans.selectRows).toMatch(/deliveries_due/);
      expect(plans.selectRows).not.toMatch(/TEMP B-TREE|SCAN/);
      expect(plans.selectRowsGuarded).toMatch(/deliveries_due/);
      expect(plans.selectRowsGuarded).not.toMatch(/TEMP B-TREE/);
      // A chosen row and its event: a seek by primary key each, no scan.
      expect(plans.claimRow).not.toMatch(/SCAN/);
      // The waiting scan: seeks in deliveries_due only, never a scan of the table or of the index.
      expect(plans.waiting).toMatch(/deliveries_due/);
      expect(plans.waiting).not.toMatch(/SCAN deliveries|TEMP B-TREE/);
      expect(plans.nextDue).toMatch(/deliveries_due/);
      expect(plans.rescue).toMatch(/deliveries_lease/);
      expect(plans.dueOrder).toMatch(/deliveries_due/);
      expect(plans.dueOrder).not.toMatch(/TEMP B-TREE/);
      // The fifo head: one seek per unfinished status, never a walk or a sort of the backlog.
      expect(
        plans.fifoHead.match(/SEARCH deliveries USING COVERING INDEX deliveries_subscription \(subscription_id=\? AND status=\?\)/g),
      ).toHaveLength(3);
      expect(plans.fifoHead).not.toMatch(/TEMP B-TREE|SCAN/);
    });
  });
});

describe('SQLite store: admin listings use their indexes', () => {
  const statuses: (DeliveryStatus | undefined)[] = [undefined, 'failed'];

  /** Every delivery listing shape: each filter on or off, first page or later page. */
  function deliveryShapes(): { query: DeliveryQuery; after: string | null }[] {
    const shapes: { query: DeliveryQuery; after: string | null }[] = [];
    for (const status of statuses)
      for (const subscriptionId of [undefined, 'a'])
        for (const eventType of [undefined, 'order.created'])
          for (const since of [undefined, T])
            for (const until of [undefined, T + 1000])
              for (const after of [null, 'dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ']) {
                // A subscription filter always comes with a status (listDeliveries runs one per status).
                if (subscriptionId !== undefined && status === undefined) continue;
                shapes.push({ query: { status, subscriptionId, eventType, since, until, limit: 51 }, after });
              }
    return shapes;
  }

  function expectedDeliveryIndex(query: DeliveryQuery): RegExp {
    if (query.subscriptionId !== undefined) return /USING INDEX deliveries_subscription \(subscription_id=\? AND status=\?/;
    if (query.status !== undefined) return /USING INDEX deliveries_status \(status=\?/;
    if (query.eventType !== undefined) return /USING INDEX deliveries_event_type \(event_type=\?/;
    return /USING INDEX sqlite_autoindex_deliveries_1/;
  }

  it('lists leased deliveries as delivering by primary key, and waiting ones without them, on their indexes', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      inspect(path, (db) => {
        const held = JSON.stringify(['dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ', 'dlv_01HZZZZZZZZZZZZZZZZZZZZZZY']);
        for (const subscriptionId of [undefined, 'a']) {
          const label = JSON.stringify({ subscriptionId });
          const delivering = listingPlan(db, deliveryListingSql({ status: 'delivering', subscriptionId, limit: 51 }, null, 51, held));
          expect(delivering, label).toMatch(/^SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 \(id=\?\)/);
          expect(delivering, label).not.toMatch(/TEMP B-TREE/);
          const pending = listingPlan(db, deliveryListingSql({ status: 'pending', subscriptionId, limit: 51 }, null, 51, held));
          expect(pending, label).toMatch(
            subscriptionId ? /^SEARCH deliveries USING INDEX deliveries_subscription/ : /^SEARCH deliveries USING INDEX deliveries_status/,
          );
          expect(pending, label).not.toMatch(/TEMP B-TREE|SCAN deliveries/);
        }
      });
    });
  });

  it('pages every filter combination of events, deliveries and audit on an index, without sorting', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      inspect(path, (db) => {
        for (const { query, after } of deliveryShapes()) {
          const plan = listingPlan(db, deliveryListingSql(query, after, 51));
          const label = JSON.stringify({ query, after });
          expect(plan, label).toMatch(/^(SEARCH|SCAN) deliveries USING INDEX \S+/);
          expect(plan, label).toMatch(expectedDeliveryIndex(query));
          expect(plan, label).not.toMatch(/TEMP B-TREE|\n/);
          // Only an unfiltered walk (or one bounded by `until` alone) starts at the newest row.
          const bounded = after !== null || query.since !== undefined || query.status !== undefined || query.eventType !== undefined;
          if (bounded) expect(plan, label).toMatch(/^SEARCH/);
        }

        for (const type of [undefined, 'order.created'])
          for (const since of [undefined, T])
            for (const until of [undefined, T + 1000, T - 1000])
              for (const after of [null, { createdAt: T, seq: 42 }]) {
                const query = { type, since, until, limit: 51 };
                const plan = listingPlan(db, eventListingSql(query, after, 51));
                const label = JSON.stringify({ query, after });
                expect(plan, label).toMatch(type === undefined ? /USING INDEX events_created/ : /USING INDEX events_type \(type=\?/);
                expect(plan, label).not.toMatch(/TEMP B-TREE|\n/);
                if (after !== null || since !== undefined || until !== undefined) expect(plan, label).toMatch(/^SEARCH/);
                // A later page starts at its cursor, not at `until` (which would re-walk earlier pages).
                if (after !== null && until !== T - 1000) expect(plan, label).toMatch(/created_at<\?\)/);
              }

        expect(listingPlan(db, auditListingSql(7, 51))).toMatch(/^SEARCH audit_log USING INTEGER PRIMARY KEY \(rowid<\?\)$/);
        expect(listingPlan(db, auditListingSql(null, 51))).toBe('SCAN audit_log');
      });
    });
  });

  it('admin writes and stats use their indexes', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      const plans = inspect(path, (db) => ({
        recover: planOf(db, ADMIN_SQL.recover, { subscriptionId: 'a', since: T, until: T + 1, sinceId: 'dlv_0', now: T }),
        cancelWaiting: planOf(db, ADMIN_SQL.cancelWaitingOfSubscription, { subscriptionId: 'a', now: T, held: '["dlv_x"]' }),
        retry: planOf(db, ADMIN_SQL.retry, { id: 'dlv_x', now: T }),
        cancel: planOf(db, ADMIN_SQL.cancel, { id: 'dlv_x', now: T }),
        counts: planOf(db, STATS_SQL.counts, {}),
        oldest: planOf(db, STATS_SQL.oldestWaiting, {}),
      }));
      expect(plans.recover).toMatch(/deliveries_subscription \(subscription_id=\? AND status=\? AND id>\?\)/);
      expect(plans.cancelWaiting).toMatch(/deliveries_due \(subscription_id=\?\)/);
      expect(plans.retry).toMatch(/sqlite_autoindex_deliveries_1 \(id=\?\)/);
      expect(plans.cancel).toMatch(/sqlite_autoindex_deliveries_1 \(id=\?\)/);
      // Counting reads the covering index only; the oldest waiting reads waiting rows only.
      expect(plans.counts).toBe('SCAN deliveries USING COVERING INDEX deliveries_subscription');
      expect(plans.oldest).toBe('SCAN deliveries USING INDEX deliveries_due');
    });
  });
});

describe('SQLite store: migration 0002', () => {
  it('fills event_type of deliveries stored before it', async () => {
    const path = tempDbPath();
    const db = openDatabase({ path, synchronous: 'normal' });
    const kysely = createKysely(db);
    try {
      await migrateToLatest(kysely, { getMigrations: async () => ({ '0001-init': init }) });
      db.exec(`INSERT INTO events (id, type, data, content_hash, created_at, delivery_count)
        VALUES ('evt_old', 'order.shipped', '{}', 'h', ${T}, 1)`);
      db.exec(`INSERT INTO deliveries (id, event_id, subscription_id, status, next_attempt_at, created_at, updated_at)
        VALUES ('dlv_01HOLD0000000000000000000', 'evt_old', 'a', 'pending', ${T}, ${T}, ${T})`);
    } finally {
      await kysely.destroy();
    }
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      expect(await store.ready()).toBe(true);
      const page = await store.listDeliveries({ eventType: 'order.shipped', limit: 10 });
      expect(page.data).toMatchObject([{ id: 'dlv_01HOLD0000000000000000000', eventType: 'order.shipped' }]);
    });
  });
});

describe('SQLite store: migration 0003', () => {
  it('starts the failing clock of subscriptions already failing at their last failure', async () => {
    const path = tempDbPath();
    const db = openDatabase({ path, synchronous: 'normal' });
    const kysely = createKysely(db);
    try {
      await migrateToLatest(kysely, { getMigrations: async () => ({ '0001-init': init, '0002-admin': admin }) });
      db.exec(`INSERT INTO subscription_state (id, last_success_at, last_failure_at, failure_streak, updated_at) VALUES
        ('failing', ${T}, ${T + 50}, 3, ${T + 50}), ('healthy', ${T + 60}, ${T + 50}, 0, ${T + 60})`);
    } finally {
      await kysely.destroy();
    }
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      const states = await store.getSubscriptionStates();
      expect(states.map((st) => [st.id, st.failingSince])).toEqual([
        ['failing', T + 50],
        ['healthy', null],
      ]);
    });
  });
});

describe('SQLite store: backup', () => {
  async function fill(store: Store, prefix: string, n: number): Promise<void> {
    await store.ingest(Array.from({ length: n }, (_, i) => [event(`${prefix}_${i}`, ['a', 'b'])]));
  }

  function integrity(path: string): unknown {
    return inspect(path, (db) => db.pragma('integrity_check', { simple: true }));
  }

  it('takes from a database that every user could read (an older version made it 0644) the bits of others, with its WAL and SHM', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await store.ingest([[event('evt_mode')]]);
    });
    const files = () => [path, `${path}-wal`, `${path}-shm`].filter((f) => existsSync(f));
    for (const f of files()) chmodSync(f, 0o644);
    await withStore(path, 'normal', async (store) => {
      expect((await store.getEvent('evt_mode'))?.id).toBe('evt_mode');
      // The group's read bit is the operator's (see the next test); others' is gone.
      for (const f of files()) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o640]);
    });
  });

  it('writes a consistent, migrated copy with every row, mode 0600, into an existing directory only', async () => {
    const path = tempDbPath();
    const dir = join(dirname(tempDbPath()), 'backups');
    mkdirSync(dir, { recursive: true });
    const target = join(dir, 'copy.db');
    await withStore(path, 'full', async (store) => {
      await store.migrate();
      await fill(store, 'evt_before', 50);
      await store.insertApiSubscription('api-1', { url: 'https://x.example', secret: 's' }, T);
      await store.appendAudit({ id: 'aud_1', at: T, actor: 'ops', action: 'backup', target: null, details: {} });
      await store.backup(target);
      // A missing directory is not made: the caller names one that exists.
      await expect(store.backup(join(dir, 'deep', 'copy.db'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
    // Nothing but the copy (looked at before a connection adds its -wal and -shm).
    expect(readdirSync(dirname(target))).toEqual(['copy.db']);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(integrity(target)).toBe('ok');
    await withStore(target, 'normal', async (copy) => {
      expect(await copy.ready()).toBe(true);
      expect((await copy.getEvent('evt_before_49'))?.deliveryCount).toBe(2);
      expect((await copy.countDeliveriesByStatus()).pending).toBe(100);
      expect((await copy.listApiSubscriptions()).map((s) => s.id)).toEqual(['api-1']);
      expect((await copy.listAudit({ limit: 10 })).data.map((e) => e.id)).toEqual(['aud_1']);
    });
  });

  it('never overwrites a file or follows a symlink unless told to overwrite, which replaces the link itself', async () => {
    const path = tempDbPath();
    const { dir, outside } = occupiedBackupDir();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await expect(store.backup(join(dir, 'taken.db'))).rejects.toMatchObject({ code: 'EEXIST' });
      await expect(store.backup(join(dir, 'link.db'))).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(join(dir, 'taken.db'), 'utf8')).toBe('keep me');
      expect(readFileSync(outside, 'utf8')).toBe('not yours');
      await store.backup(join(dir, 'link.db'), { overwrite: true });
    });
    expect(readFileSync(outside, 'utf8')).toBe('not yours');
    expect(lstatSync(join(dir, 'link.db')).isSymbolicLink()).toBe(false);
    expect(statSync(join(dir, 'link.db')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['link.db', 'taken.db']);
    expect(integrity(join(dir, 'link.db'))).toBe('ok');
  });

  it('on a file system without hard links, copies exclusively: still never over a file or through a symlink', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await store.ingest([[event('evt_fat')]]);
    });
    const { dir, outside } = occupiedBackupDir();
    const noLinks = () => {
      throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
    };
    const db = openDatabase({ path, synchronous: 'normal' });
    try {
      await backupDatabase(db, join(dir, 'copy.db'), { link: noLinks });
      await expect(backupDatabase(db, join(dir, 'taken.db'), { link: noLinks })).rejects.toMatchObject({ code: 'EEXIST' });
      await expect(backupDatabase(db, join(dir, 'link.db'), { link: noLinks })).rejects.toMatchObject({ code: 'EEXIST' });
    } finally {
      db.close();
    }
    expect(readFileSync(join(dir, 'taken.db'), 'utf8')).toBe('keep me');
    expect(readFileSync(outside, 'utf8')).toBe('not yours');
    expect(readdirSync(dir).sort()).toEqual(['copy.db', 'link.db', 'taken.db']);
    expect(statSync(join(dir, 'copy.db')).mode & 0o777).toBe(0o600);
    expect(integrity(join(dir, 'copy.db'))).toBe('ok');
    expect(inspect(join(dir, 'copy.db'), (copy) => copy.prepare('SELECT id FROM events').pluck().all())).toEqual(['evt_fat']);
  });

  it('stays consistent while writes go on, and with overwrite replaces an older backup whole', async () => {
    const path = tempDbPath();
    const target = join(dirname(path), 'backup.db');
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await store.backup(target);
      await fill(store, 'evt_big', 3000);
      // Writes interleave with the backup's steps (better-sqlite3 copies between event-loop turns).
      const backup = store.backup(target, { overwrite: true });
      for (let i = 0; i < 20; i++) await fill(store, `evt_during_${i}`, 5);
      await backup;
      // Left by someone who opened the old backup: must not be replayed onto the new one.
      writeFileSync(`${target}-wal`, 'stale');
      await store.backup(target, { overwrite: true });
      expect(existsSync(`${target}-wal`)).toBe(false);
    });
    expect(integrity(target)).toBe('ok');
    await withStore(target, 'normal', async (copy) => {
      expect(await copy.ready()).toBe(true);
      expect(await copy.getEvent('evt_big_2999')).not.toBeNull();
      expect(await copy.getEvent('evt_during_19_4')).not.toBeNull();
    });
    expect(readdirSync(dirname(target)).filter((f) => f.includes('backup-'))).toEqual([]);
  });

  it('backs up an in-memory store, and refuses to overwrite the live file', async () => {
    const target = join(dirname(tempDbPath()), 'mem.db');
    mkdirSync(dirname(target), { recursive: true });
    await withStore(':memory:', 'normal', async (store) => {
      await store.migrate();
      await fill(store, 'evt_mem', 3);
      await store.backup(target);
    });
    expect(integrity(target)).toBe('ok');
    await withStore(target, 'normal', async (copy) => expect(await copy.getEvent('evt_mem_2')).not.toBeNull());

    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      await expect(store.backup(path)).rejects.toThrow(/live database/);
      await expect(store.backup(`${path}-wal`)).rejects.toThrow(/live database/);
      for (const suffix of ['-shm', '-journal', '.lock']) {
        await expect(store.backup(`${path}${suffix}`, { overwrite: true })).rejects.toMatchObject({ code: 'LIVE_DATABASE' });
      }
      expect(await store.ready()).toBe(true);
    });
  });
});

describe('SQLite store: files readable by the relay only', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('creates the database, its WAL, SHM and lock 0600, and the directories it makes 0700', async () => {
    const path = tempDbPath();
    const store = createSqliteStore({ path, synchronous: 'full', exclusive: true });
    try {
      await store.migrate();
      await store.ingest([[event('evt_mode')]]);
      for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}.lock`]) expect([file, mode(file)]).toEqual([file, 0o600]);
      expect(mode(dirname(path))).toBe(0o700);
      expect(mode(dirname(dirname(path)))).toBe(0o700);
    } finally {
      await store.close();
    }
  });

  it('leaves the mode of an existing database and directory as it is', async () => {
    const path = tempDbPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    chmodSync(dirname(path), 0o750);
    new Database(path).close();
    chmodSync(path, 0o640);
    await withStore(path, 'normal', (store) => store.migrate());
    expect(mode(path)).toBe(0o640);
    expect(mode(dirname(path))).toBe(0o750);
  });

  it('overwrites deleted rows (secure_delete): a removed subscription leaves no secret in the file', async () => {
    const path = tempDbPath();
    const secret = 'whsec_DeletedSecretMustNotStayInTheFile0123';
    await withStore(path, 'full', async (store) => {
      await store.migrate();
      await store.insertApiSubscription('api-gone', { url: 'https://x.example', signature: { secret } }, T);
      await store.insertApiSubscription('api-kept', { url: 'https://y.example' }, T);
      expect(await store.deleteApiSubscription('api-gone', T + 1)).toBe(true);
    });
    const files = readdirSync(dirname(path)).map((f) => join(dirname(path), f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect([file, readFileSync(file).includes(secret)]).toEqual([file, false]);
    expect(inspect(path, (db) => db.prepare('SELECT id FROM api_subscriptions').all())).toEqual([{ id: 'api-kept' }]);
  });
});

describe('SQLite store: tenant erasure', () => {
  it("deletes the tenant's tokens, and no one else's", async () => {
    await withStore(':memory:', 'normal', async (store) => {
      await store.migrate();
      await store.createTenantToken({
        id: 'tok_1',
        tenant: 'acct_t',
        name: 'n',
        scopes: ['read'],
        hash: 'h',
        createdAt: 1,
        expiresAt: null,
      });
      await store.createTenantToken({
        id: 'tok_2',
        tenant: 'acct_other',
        name: 'n',
        scopes: ['read'],
        hash: 'h',
        createdAt: 1,
        expiresAt: null,
      });
      await store.startTenantErasure('acct_t', T);
      expect(await store.eraseTenantBatch('acct_t', 10, T + 1)).toMatchObject({ state: 'done' });
      expect(await store.listTenantTokens('acct_t')).toEqual([]);
      expect((await store.listTenantTokens('acct_other')).map((t) => t.id)).toEqual(['tok_2']);
    });
  });
});

describe('SQLite store: an erasure left running by a previous process', () => {
  it('still keeps claims and results away from the tenant after a restart, until it ends', async () => {
    const path = tempDbPath();
    const tenantEvent = (id: string): NewEvent => ({ ...event(id), tenant: 'acct_x' });
    const leased = await withStore(path, 'full', async (store) => {
      await store.migrate();
      await store.ingest([[tenantEvent('evt_x1')], [tenantEvent('evt_x2')], [event('evt_other')]]);
      const [first] = await store.claim([{ subscriptionId: 'a', limit: 1, leaseExpiresAt: T + 1000 }], 'p1', T);
      await store.startTenantErasure('acct_x', T + 1);
      return first!.id;
    });
    await withStore(path, 'full', async (store) => {
      await store.migrate();
      // The process that held the lease is gone; the new one knows of the erasure from the file.
      const claimed = await store.claim([{ subscriptionId: 'a', limit: 5, leaseExpiresAt: T + 1000 }], 'p2', T + 2);
      expect(claimed.map((d) => d.event.id)).toEqual(['evt_other']);
      // A batch that does not finish the erasure leaves the tenant's rows out of claims still.
      expect(await store.eraseTenantBatch('acct_x', 1, T + 3)).toMatchObject({ state: 'erasing' });
      expect(await store.claim([{ subscriptionId: 'a', limit: 5, leaseExpiresAt: T + 1000 }], 'p2', T + 3)).toEqual([]);
      while ((await store.eraseTenantBatch('acct_x', 100, T + 4))?.state !== 'done');
      expect(await store.getDelivery(leased)).toBeNull();
      await store.ingest([[tenantEvent('evt_x3')]]);
      const [after] = await store.claim([{ subscriptionId: 'a', limit: 5, leaseExpiresAt: T + 1000 }], 'p2', T + 5);
      expect(after?.event.id).toBe('evt_x3');
    });
  });
});

describe('SQLite store: retention', () => {
  it("finds prune candidates through events_created and each event's deliveries through deliveries_event", async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => store.migrate());
    const plan = inspect(path, (db) => planOf(db, PRUNE_SQL.window, { cutoff: T, afterCreatedAt: 0, afterSeq: 0, limit: 500 }));
    expect(plan).toContain('SEARCH e USING INDEX events_created');
    expect(plan).toContain('deliveries_event');
    expect(plan).not.toMatch(/SCAN (d|deliveries)\b/);
    expect(plan).not.toContain('USE TEMP B-TREE');
  });

  it('creates new files with incremental auto-vacuum and converts a file made before it, keeping every row', async () => {
    const fresh = tempDbPath();
    await withStore(fresh, 'normal', async (store) => store.migrate());
    expect(inspect(fresh, (db) => db.pragma('auto_vacuum', { simple: true }))).toBe(2);

    // A file as an earlier version made it: auto_vacuum NONE, already migrated and holding events.
    const old = tempDbPath();
    mkdirSync(dirname(old), { recursive: true });
    const raw = new Database(old);
    raw.pragma('journal_mode = WAL');
    raw.close();
    expect(inspect(old, (db) => db.pragma('auto_vacuum', { simple: true }))).toBe(0);
    await withStore(old, 'normal', async (store) => {
      await store.migrate();
      await store.ingest([[event('kept')]]);
    });
    await withStore(old, 'normal', async (store) => {
      await store.migrate();
      expect(await store.getEvent('kept')).not.toBeNull();
    });
    expect(inspect(old, (db) => db.pragma('auto_vacuum', { simple: true }))).toBe(2);
  });

  it('hands the space of pruned events back: the file shrinks after a sweep', async () => {
    const path = tempDbPath();
    const big = JSON.stringify({ blob: 'x'.repeat(4000) });
    const pages = () => inspect(path, (db) => db.pragma('page_count', { simple: true }) as number);
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      for (let b = 0; b < 30; b++) {
        await store.ingest(Array.from({ length: 100 }, (_, i) => [{ ...event(`big_${b}_${i}`, []), data: big }]));
      }
      const before = pages();
      let after: string | undefined;
      for (;;) {
        const batch = await store.pruneFinished({ succeededBefore: T + 1, failedBefore: T + 1, limit: 100, after });
        if (batch.next === null) break;
        after = batch.next;
      }
      expect(await store.getEvent('big_29_99')).toBeNull();
      // About 3,000 pages of events went; at most the 1,024 kept free may stay in the file.
      expect(before).toBeGreaterThan(3000);
      expect(pages()).toBeLessThan(before - 1500);
      expect(inspect(path, (db) => db.pragma('freelist_count', { simple: true }) as number)).toBeLessThanOrEqual(1024);
    });
  });
});

/** A backup directory holding a file (taken.db) and a symlink (link.db) to a file outside it. */
function occupiedBackupDir(): { dir: string; outside: string } {
  const dir = dirname(tempDbPath());
  mkdirSync(dir, { recursive: true });
  const outside = join(dirname(tempDbPath()), 'outside');
  mkdirSync(dirname(outside), { recursive: true });
  writeFileSync(outside, 'not yours');
  writeFileSync(join(dir, 'taken.db'), 'keep me');
  symlinkSync(outside, join(dir, 'link.db'));
  return { dir, outside };
}

function listingPlan(db: Database.Database, listing: ListingSql): string {
  return planOf(db, listing.sql, listing.params);
}

function schemaOf(db: Database.Database): unknown[] {
  return db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
}

function planOf(db: Database.Database, statement: string, params: Record<string, unknown>): string {
  const explain = db.prepare(`EXPLAIN QUERY PLAN ${statement}`);
  const rows = (Object.keys(params).length === 0 ? explain.all() : explain.all(params)) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}

describe('SQLite store: tenants', () => {
  it('answers erasing to a put while the tenant is erased, writing nothing', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      const tenant = { id: 'acct_1', name: 'A', metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null };
      expect(await store.putTenant(tenant, T)).toBe('created');
      const db = new Database(path);
      db.prepare(`UPDATE tenants SET state = 'erasing' WHERE id = 'acct_1'`).run();
      db.close();
      expect(await store.putTenant({ ...tenant, name: 'B' }, T + 1)).toBe('erasing');
      expect(await store.getTenant('acct_1')).toMatchObject({ name: 'A', state: 'erasing', updatedAt: T });
      // Ingest for it is refused as a whole, in the same transaction; other requests of the group go on.
      const refused = { ...event('evt_erasing', ['p']), tenant: 'acct_1', tenantSubscriptionIds: ['t'] };
      const other = { ...event('evt_other', ['p']), tenant: 'acct_2' };
      expect(await store.ingest([[event('evt_first', ['p']), refused], [other]])).toEqual([
        { kind: 'tenant_erasing', tenant: 'acct_1' },
        { kind: 'ok', events: [{ id: 'evt_other', deliveries: 1, created: true }] },
      ]);
      expect(await store.getEvent('evt_erasing')).toBeNull();
      expect(await store.getEvent('evt_first')).toBeNull();
    });
  });

  it('counts and pages tenants on indexes by tenant, never a scan', async () => {
    const path = tempDbPath();
    await withStore(path, 'normal', async (store) => {
      await store.migrate();
      inspect(path, (db) => {
        const ids = JSON.stringify(['a', 'b']);
        expect(planOf(db, TENANT_SQL.subscriptions, { ids })).toMatch(
          /SEARCH api_subscriptions USING (COVERING )?INDEX api_subscriptions_tenant \(tenant=\?\)/,
        );
        expect(planOf(db, TENANT_SQL.backlog, { ids })).toMatch(
          /SEARCH deliveries USING (COVERING )?INDEX deliveries_tenant_waiting \(tenant=\?\)/,
        );
        expect(planOf(db, TENANT_SQL.failing, { ids })).toMatch(/SEARCH a USING (COVERING )?INDEX api_subscriptions_tenant \(tenant=\?\)/);
        for (const tenant of ['acct_1', null])
          for (const after of [null, { createdAt: T, seq: 9 }]) {
            const plan = listingPlan(db, eventListingSql({ tenant, limit: 51 }, after, 51));
            expect(plan).toMatch(/^SEARCH events USING INDEX events_tenant \(tenant=\?/);
            expect(plan).not.toMatch(/TEMP B-TREE|\n/);
          }
        for (const tenant of ['acct_1', null])
          for (const status of [undefined, 'failed'] as const) {
            const plan = listingPlan(db, deliveryListingSql({ tenant, status, limit: 51 }, 'dlv_01HZZZZZZZZZZZZZZZZZZZZZZZ', 51));
            expect(plan).toMatch(/^SEARCH deliveries USING INDEX deliveries_tenant \(tenant=\? AND id<\?\)/);
            expect(plan).not.toMatch(/TEMP B-TREE|\n/);
          }
        for (const q of [undefined, 'acct_'])
          for (const after of [null, 'acct_1']) {
            const { sql: text, params } = tenantListingSql(planTenantListing({ q, limit: 10 }, after, 11));
            const plan = planOf(db, text, params);
            expect(plan).toMatch(/^(SEARCH|SCAN) tenants USING INDEX sqlite_autoindex_tenants_1/);
            expect(plan).not.toMatch(/TEMP B-TREE|\n/);
          }
      });
    });
  });
});
