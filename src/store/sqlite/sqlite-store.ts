import { sqliteMigrationProvider } from '../../../migrations/sqlite/index';
import type { Store } from '../types';
import { createHotPaths, type HotPaths } from './hot-paths';
import { createKysely, isMigrated, migrateToLatest } from './kysely';
import { openDatabase, type SqliteOptions } from './open-database';
import * as reads from './reads';

export type { SqliteOptions } from './open-database';

/**
 * The embedded SQLite store: one better-sqlite3 connection shared by the hot paths (prepared
 * statements) and Kysely (migrations, admin reads). better-sqlite3 is synchronous, so nothing
 * interleaves inside a hot-path transaction. SQLite errors (SQLITE_BUSY, SQLITE_FULL, …) are thrown
 * as they come, with their `code`, for the HTTP layer to map to 503.
 */
export function createSqliteStore(opts: SqliteOptions): Store {
  const db = openDatabase(opts);
  const kysely = createKysely(db);
  let hotPaths: HotPaths | undefined;
  const hot = () => (hotPaths ??= createHotPaths(db));
  let closing: Promise<void> | undefined;

  return {
    migrate: () => migrateToLatest(kysely, sqliteMigrationProvider),
    async ready() {
      try {
        db.prepare('SELECT 1').get();
        return await isMigrated(kysely, sqliteMigrationProvider);
      } catch {
        return false;
      }
    },
    // Destroying Kysely closes the shared database (and checkpoints the WAL).
    close: () => (closing ??= kysely.destroy()),

    async ingest(requests) {
      return requests.length === 0 ? [] : hot().ingest(requests);
    },
    async claim(requests, owner, now) {
      return requests.length === 0 ? [] : hot().claim(requests, owner, toMs(now));
    },
    async complete(results, now) {
      return results.length === 0 ? [] : hot().complete(results, toMs(now));
    },
    async release(deliveryIds, owner, now) {
      return deliveryIds.length === 0 ? 0 : hot().release(deliveryIds, owner, toMs(now));
    },
    async rescueExpired(now, opts) {
      return hot().rescueExpired(toMs(now), opts?.all ? Number.MAX_SAFE_INTEGER : toMs(now));
    },
    async nextDueAt(subscriptionIds) {
      return subscriptionIds.length === 0 ? null : hot().nextDueAt(subscriptionIds);
    },

    getSubscriptionStates: () => reads.getSubscriptionStates(kysely),
    async setSubscriptionEnabled(id, enabled, reason, now) {
      hot().setEnabled(id, enabled, reason, toMs(now));
    },
    getEvent: (id) => reads.getEvent(kysely, id),
    listDeliveriesOfEvent: (eventId) => reads.listDeliveriesOfEvent(kysely, eventId),
    getDelivery: (id) => reads.getDelivery(kysely, id),
    listAttempts: (deliveryId) => reads.listAttempts(kysely, deliveryId),
    countDeliveriesByStatus: () => reads.countDeliveriesByStatus(kysely),
  };
}

// Columns are STRICT INTEGER: a computed time with a fraction (jitter) would be rejected.
const toMs = (time: number): number => Math.round(time);
