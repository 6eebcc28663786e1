import type Database from 'better-sqlite3';
import { sqliteMigrationProvider } from '../../../migrations/sqlite/index';
import type { Store } from '../types';
import { createAdminWrites, type AdminWrites } from './admin-writes';
import { backupDatabase } from './backup';
import { createHotPaths, type HotPaths } from './hot-paths';
import { createKysely, isMigrated, migrateToLatest } from './kysely';
import type { Listings } from '../sql/listing-plan';
import { isSqliteUnavailable } from './errors';
import { createListings } from './listings';
import { isInMemory, openDatabase, type SqliteOptions } from './open-database';
import { lockDatabaseFile } from './process-lock';
import { Leases } from './leases';
import { createErasure, type Erasure, ErasingTenants } from './erasure';
import { createEventTypes, type EventTypes } from './event-types';
import { createPruner } from './prune';
import * as reads from './reads';
import { createSubscriptionChanges, type SubscriptionChangeLog } from './subscription-changes';
import { createPortalSessions, type PortalSessions } from './portal-sessions';
import { createTenantTokens, type TenantTokens } from './tenant-tokens';
import { createTenants, type Tenants } from './tenants';
import { createWalSync, type SyncFd } from './wal-sync';

export type { SqliteOptions } from './open-database';

/**
 * The embedded SQLite store: one better-sqlite3 connection shared by the hot paths (prepared
 * statements) and Kysely (migrations, admin reads). better-sqlite3 is synchronous, so nothing
 * interleaves inside a hot-path transaction. SQLite errors (SQLITE_BUSY, SQLITE_FULL, …) are thrown
 * as they come, with their `code`; isUnavailable (errors.ts) tells which mean "retry later".
 */
export function createSqliteStore(opts: SqliteOptions, hooks: { syncFd?: SyncFd } = {}): Store {
  let opened: { db: Database.Database; kysely: ReturnType<typeof createKysely>; unlock: () => void } | undefined;
  /**
   * The connection, opened on first use (migrate, at start), so a file that cannot be opened yet (a
   * volume not mounted yet: SQLITE_CANTOPEN) is waited for like a database server; opening again
   * after a failure tries again.
   */
  const connection = () => {
    if (opened) return opened;
    // Before the database is touched: a second server of the same file is refused (singleOwner).
    const unlock = opts.exclusive ? lockDatabaseFile(opts.path) : () => {};
    try {
      const db = openDatabase(opts);
      opened = { db, kysely: createKysely(db), unlock };
    } catch (err) {
      unlock();
      throw err;
    }
    return opened;
  };
  const db = () => connection().db;
  const kysely = () => connection().kysely;
  // synchronous: full: ingest commits unsynced, then its WAL is flushed off the event loop before
  // the answer (see wal-sync.ts). Without a file there is nothing to flush.
  const walSync = opts.synchronous === 'full' && !isInMemory(opts.path) ? createWalSync(`${opts.path}-wal`, hooks.syncFd) : undefined;
  // Leases of deliveries being attempted, in memory: this process owns the file (leases.ts).
  const leases = new Leases();
  let hotPaths: HotPaths | undefined;
  // Tenants being erased, in memory for the same reason (erasure.ts), read from the file once.
  let erasingTenants: ErasingTenants | undefined;
  const erasing = () => (erasingTenants ??= new ErasingTenants(erasure().erasing()));
  const hot = () => (hotPaths ??= createHotPaths(db(), opts.synchronous, leases, erasing()));
  // Admin writes and listings are prepared on first use too (after migrate, off the boot path).
  let adminWrites: AdminWrites | undefined;
  const admin = () => (adminWrites ??= createAdminWrites(db()));
  let listingQueries: Listings | undefined;
  const listings = () => (listingQueries ??= createListings(db(), leases));
  let pruner: ReturnType<typeof createPruner> | undefined;
  const prune = () => (pruner ??= createPruner(db()));
  let changeLog: SubscriptionChangeLog | undefined;
  const changes = () => (changeLog ??= createSubscriptionChanges(db()));
  let tenantQueries: Tenants | undefined;
  const tenants = () => (tenantQueries ??= createTenants(db()));
  let tokenQueries: TenantTokens | undefined;
  const tokens = () => (tokenQueries ??= createTenantTokens(db()));
  let portalQueries: PortalSessions | undefined;
  const portal = () => (portalQueries ??= createPortalSessions(db()));
  let erasureQueries: Erasure | undefined;
  const erasure = () => (erasureQueries ??= createErasure(db()));
  let eventTypeQueries: EventTypes | undefined;
  const eventTypes = () => (eventTypeQueries ??= createEventTypes(db()));
  let closing: Promise<void> | undefined;

  return {
    capabilities: { singleOwner: true, backup: true, sharedRateBuckets: false },
    isUnavailable: isSqliteUnavailable,
    async migrate() {
      await migrateToLatest(kysely(), sqliteMigrationProvider);
      useIncrementalVacuum(db());
    },
    async ready() {
      try {
        db().prepare('SELECT 1').get();
        return await isMigrated(kysely(), sqliteMigrationProvider);
      } catch {
        return false;
      }
    },
    // Destroying Kysely closes the shared database (and checkpoints the WAL).
    close: () =>
      (closing ??= (opened ? opened.kysely.destroy() : Promise.resolve()).finally(() => {
        walSync?.close();
        opened?.unlock();
      })),

    async ingest(requests) {
      if (requests.length === 0) return [];
      const results = hot().ingest(requests);
      await walSync?.sync();
      return results;
    },
    async claim(requests, owner, now) {
      return requests.length === 0 ? [] : hot().claimDue(requests, owner, toMs(now)).deliveries;
    },
    async claimDue(requests, owner, now) {
      return requests.length === 0 ? { deliveries: [], nextDueAt: new Map() } : hot().claimDue(requests, owner, toMs(now));
    },
    async waitingSubscriptions() {
      return hot().waitingSubscriptions();
    },
    async complete(results, now, ops) {
      return results.length === 0 ? [] : hot().complete(results, toMs(now), ops);
    },
    async reportFailedDeliveries(now, ops) {
      return hot().reportFailedDeliveries(toMs(now), ops);
    },
    async checkBacklog(now, ageMs, ops) {
      return hot().checkBacklog(toMs(now), ageMs, ops);
    },
    async release(deliveryIds, owner, now) {
      return deliveryIds.length === 0 ? 0 : hot().release(deliveryIds, owner, toMs(now));
    },
    async rescueExpired(now, opts) {
      return hot().rescueExpired(toMs(now), opts?.all ? Number.MAX_SAFE_INTEGER : toMs(now));
    },
    async nextDueAt(subscriptionIds, fifoSubscriptionIds = []) {
      return subscriptionIds.length === 0 ? null : hot().nextDueAt(subscriptionIds, fifoSubscriptionIds);
    },

    getSubscriptionStates: (ids) => reads.getSubscriptionStates(kysely(), ids),
    failingSubscriptionStates: (at) => reads.failingSubscriptionStates(kysely(), at),
    async setSubscriptionEnabled(id, enabled, reason, now, ops) {
      hot().setEnabled(id, enabled, reason, toMs(now), ops);
    },
    getEvent: (id) => reads.getEvent(kysely(), id),
    // Reads of deliveries show the leased ones as delivering (leases.ts).
    async listDeliveriesOfEvent(eventId) {
      return (await reads.listDeliveriesOfEvent(kysely(), eventId)).map((d) => leases.overlayDelivery(d));
    },
    async getDelivery(id) {
      const delivery = await reads.getDelivery(kysely(), id);
      return delivery === null ? null : leases.overlayDelivery(delivery);
    },
    listAttempts: (deliveryId) => reads.listAttempts(kysely(), deliveryId),
    async countDeliveriesByStatus() {
      const counts = await reads.countDeliveriesByStatus(kysely());
      Leases.moveToDelivering(counts, leases.all());
      return counts;
    },

    // Listings throw InvalidCursorError (code INVALID_CURSOR) for a cursor they did not make.
    async listEvents(query) {
      return listings().listEvents(query);
    },
    async listDeliveries(query) {
      return listings().listDeliveries(query);
    },
    async listAudit(query) {
      return listings().listAudit(query);
    },
    listApiSubscriptions: (page) => reads.listApiSubscriptions(kysely(), page),
    getApiSubscription: (id) => reads.getApiSubscription(kysely(), id),
    async insertApiSubscription(id, spec, now, tenant) {
      return admin().insertApiSubscription(id, spec, toMs(now), tenant ?? null);
    },
    async insertTenantSubscription(id, spec, now, tenant, defaultMax) {
      return admin().insertTenantSubscription(id, spec, toMs(now), tenant, defaultMax);
    },
    async updateApiSubscription(id, spec, now, ifUpdatedAt) {
      return admin().updateApiSubscription(id, spec, toMs(now), ifUpdatedAt ?? null);
    },
    async deleteApiSubscription(id, now) {
      return admin().deleteApiSubscription(id, toMs(now), leases.heldJson());
    },
    async addDeliveries(eventId, subscriptionIds, now) {
      return subscriptionIds.length === 0 ? [] : admin().addDeliveries(eventId, subscriptionIds, toMs(now));
    },
    // A leased delivery is delivering: neither may change it.
    async retryDelivery(id, now) {
      return leases.get(id) ? { kind: 'conflict', status: 'delivering' } : admin().retryDelivery(id, toMs(now));
    },
    async cancelDelivery(id, now) {
      return leases.get(id) ? { kind: 'conflict', status: 'delivering' } : admin().cancelDelivery(id, toMs(now));
    },
    async recoverDeliveries(subscriptionId, since, until, now) {
      return since >= until ? 0 : admin().recoverDeliveries(subscriptionId, since, until, toMs(now));
    },
    async deliveryStats(ids) {
      const stats = await reads.deliveryStats(kysely(), ids);
      if (leases.size === 0) return stats;
      const held = leases.bySubscription();
      for (const s of stats) {
        const mine = held.get(s.subscriptionId);
        if (mine === undefined) continue;
        Leases.moveToDelivering(s.counts, mine);
        s.backlog -= mine.length;
        s.oldestWaitingCreatedAt = await reads.oldestWaitingExcept(kysely(), leases.heldJson(), { subscriptionId: s.subscriptionId });
      }
      return stats;
    },
    async waitingTotals(except) {
      const totals = await reads.waitingTotals(kysely(), except);
      const skip = new Set(except);
      let leased = 0;
      for (const lease of leases.all()) if (!skip.has(lease.subscriptionId)) leased++;
      if (leased === 0) return totals;
      return {
        backlog: totals.backlog - leased,
        oldestWaitingCreatedAt: await reads.oldestWaitingExcept(kysely(), leases.heldJson(), { except }),
      };
    },
    async appendAudit(entry) {
      admin().appendAudit({ ...entry, at: toMs(entry.at) });
    },
    async pruneFinished(request) {
      return prune()(request);
    },
    async putTenant(input, now) {
      return tenants().put(input, toMs(now));
    },
    async getTenant(id) {
      return tenants().get(id);
    },
    listTenants: (query) => tenants().list(query),
    async tenantCounts(ids) {
      const counts = tenants().counts(ids);
      // A leased delivery is delivering, not part of its tenant's backlog.
      for (const lease of leases.all()) {
        const c = lease.tenant === null ? undefined : counts.get(lease.tenant);
        if (c !== undefined) c.backlog--;
      }
      return counts;
    },
    async createTenantToken(token) {
      tokens().create({ ...token, createdAt: toMs(token.createdAt), expiresAt: token.expiresAt === null ? null : toMs(token.expiresAt) });
    },
    async listTenantTokens(tenant) {
      return tokens().list(tenant);
    },
    async revokeTenantToken(tenant, id) {
      return tokens().revoke(tenant, id);
    },
    async findTenantToken(id) {
      return tokens().find(id);
    },
    async touchTenantToken(id, now) {
      return tokens().touch(id, toMs(now));
    },
    async createPortalLink(link) {
      portal().create({ ...link, createdAt: toMs(link.createdAt), expiresAt: toMs(link.expiresAt) });
    },
    async openPortalSession(linkHash, sessionHash, now) {
      return portal().open(linkHash, sessionHash, toMs(now));
    },
    async findPortalSession(sessionHash) {
      return portal().find(sessionHash);
    },
    async endPortalSessions(tenant) {
      return portal().end(tenant);
    },
    async startTenantErasure(tenant, now) {
      const started = erasure().start(tenant, toMs(now));
      erasing().started(tenant);
      return started;
    },
    async eraseTenantBatch(tenant, limit, now) {
      const { erasure: progress, ended } = erasure().batch(tenant, limit, toMs(now));
      if (ended) erasing().ended(tenant);
      // The WAL still holds the erased rows' old page images: copy the current pages into the
      // file and empty the WAL, so nothing of the tenant stays readable on disk.
      if (ended && !db().memory) db().pragma('wal_checkpoint(TRUNCATE)');
      return progress;
    },
    async getTenantErasure(tenant) {
      return erasure().get(tenant);
    },
    async erasingTenants() {
      return erasure().erasing();
    },
    async latestSubscriptionChange() {
      return changes().latest();
    },
    async subscriptionChangesSince(afterSeq) {
      return changes().since(afterSeq);
    },
    async pruneSubscriptionChanges(before) {
      return changes().prune(toMs(before));
    },
    async eventTypesVersion() {
      return eventTypes().version();
    },
    async listEventTypes() {
      return eventTypes().list();
    },
    async putEventType(name, spec, now) {
      return eventTypes().put(name, spec, toMs(now));
    },
    async deleteEventType(name) {
      return eventTypes().delete(name);
    },
    backup: (path, opts) => backupDatabase(db(), path, opts),
  };
}

/**
 * Retention hands freed pages back to the file system (prune.ts), which needs auto_vacuum =
 * INCREMENTAL. A new file gets it when it is opened (openDatabase); a file made by an earlier
 * version is rebuilt once with VACUUM, the only way SQLite changes that mode. In memory: no file.
 */
function useIncrementalVacuum(db: Database.Database): void {
  if (db.memory || db.pragma('auto_vacuum', { simple: true }) === 2) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
}

// Columns are STRICT INTEGER: a computed time with a fraction (jitter) would be rejected.
const toMs = (time: number): number => Math.round(time);
