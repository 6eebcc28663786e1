import { postgresMigrations } from '../../../migrations/postgres/index';
import { type Clock, systemClock } from '../../lib/clock';
import type { DeliveryRow } from '../sql/rows';
import type { OperationalHooks, Store, TenantInsertResult } from '../types';
import { ADMIN_SQL, actionResult, addDeliveries, recoverDeliveries } from './admin';
import { allPlain, CLAIM_SQL, claimDue, claimPlainAtOnce, earliestDue, waitingSubscriptions } from './claims';
import { COMPLETION_SQL, completeResults } from './completion';
import { announceDisabled, checkBacklog, type PgEmitter, reportDueFailures } from './operational';
import { createPool, createPostgresKysely, migratePostgres, type PostgresOptions } from './connect';
import { createShift, ms, type TimeSource } from './database-clock';
import { isPostgresUnavailable } from './errors';
import { ingestGroup, onlyInserts, UNIQUE_VIOLATION } from './ingest';
import { createListings } from './listings';
import { createNotifications } from './notifications';
import { pruneBatch } from './prune';
import * as reads from './reads';
import { inTransaction, over, type Runner } from './run';
import { appendChanges, changesSince, latestChange, pruneChanges } from './subscription-changes';
import { PORTAL_SQL, type PortalSessionRow, portalLinkParams, toPortalSession } from '../sql/portal-sessions';
import { TENANT_TOKEN_SQL, type TenantTokenRow, tenantTokenParams, toTenantToken, touchParams } from '../sql/tenant-tokens';
import { getTenant, listTenants, putTenant, tenantCounts } from './tenants';
import { eraseBatch, erasingTenants, getErasure, startErasure } from './erasure';
import { deleteEventType, eventTypesVersion, listEventTypes, putEventType } from './event-types';

/*
 * The Postgres store: several relay instances share one database. Claims take due rows FOR UPDATE
 * SKIP LOCKED, so instances never lease the same delivery; every state change is guarded by the
 * lease owner (a late result of an expired lease writes nothing); idempotent ingest is decided by
 * the unique key on events.id; times are moved onto the database's clock (database-clock.ts);
 * commits that make work due, or change a subscription, NOTIFY every instance (notifications.ts).
 */

/** Options of the Postgres store: the connection, and how it treats time. */
export interface PostgresStoreOptions extends PostgresOptions {
  /** Whose clock times are compared on (see TimeSource); default `database`. */
  time?: TimeSource;
  /** This process's clock (epoch ms), compared with the database's to find the shift; default the system clock. */
  clock?: Clock;
  /** How long a lease outlives its attempt's timeout before another instance may take it over (ms; config `storage.postgres.lease_margin`). */
  leaseMarginMs?: number;
}

/** The Postgres store (not migrated yet): several instances may share its database. */
export function createPostgresStore(opts: PostgresStoreOptions): Store {
  const pool = createPool(opts);
  const kysely = createPostgresKysely(pool);
  const clock = opts.clock ?? systemClock;
  const shiftOf = createShift(opts.time ?? 'database');
  const notifications = createNotifications(opts);
  const direct = over(pool);
  const listings = createListings(direct);
  const transaction = <T>(fn: (tx: Runner) => Promise<T>) => inTransaction(pool, fn);
  /** `now` (the caller's clock) on the database's clock, measured in this transaction. */
  const dbNow = async (tx: Runner, now: number) => ms(now + (await shiftOf(tx, now)));
  /** Logs that `ids` changed, last in the transaction (see appendChanges). */
  const changed = (tx: Runner, ids: string[], at: number) => appendChanges(tx, ids, at, notifications.notifySubscriptionChange);
  /** One transaction that may emit operational events, waking the instances' dispatchers for them. */
  const operationally = (now: number, hooks: OperationalHooks, fn: (ops: PgEmitter, at: number) => Promise<number>) =>
    transaction(async (tx) => {
      const shift = await shiftOf(tx, now);
      const ops = { tx, hooks, shift, woken: new Set<string>() };
      const emitted = await fn(ops, ms(now + shift));
      if (ops.woken.size > 0) await notifications.notifyWork(tx, ops.woken);
      return emitted;
    });
  let closing: Promise<void> | undefined;

  const store: Store = {
    capabilities: { singleOwner: false, backup: false, sharedRateBuckets: true },
    ...(opts.leaseMarginMs !== undefined && { leaseMarginMs: opts.leaseMarginMs }),
    isUnavailable: isPostgresUnavailable,
    migrate: () => migratePostgres(kysely, opts.schema),
    async ready() {
      try {
        const [applied] = await direct.rows<{ n: number }>(`SELECT count(*)::int AS n FROM kysely_migration`);
        return applied!.n === Object.keys(postgresMigrations).length;
      } catch {
        return false;
      }
    },
    close: () =>
      (closing ??= (async () => {
        await notifications.close();
        await kysely.destroy();
      })()),

    onWork: notifications.onWork,
    onSubscriptionChange: notifications.onSubscriptionChange,
    onEventTypeChange: notifications.onEventTypeChange,

    async ingest(requests) {
      if (requests.length === 0) return [];
      // Another instance may insert the same id between our check and our insert: the unique key
      // decides, and the group runs again and now sees it as a replay (or a conflict).
      for (let round = 0; ; round++) {
        try {
          const group = async (run: Runner) => ingestGroup(run, requests, await shiftOf(run, clock.now()), notifications.workNotice);
          // Nothing to read first (no tenant, no given id): the insert alone, autocommitted.
          return onlyInserts(requests) ? await group(direct) : await transaction(group);
        } catch (err) {
          if ((err as { code?: string }).code !== UNIQUE_VIOLATION || round >= 3) throw err;
        }
      }
    },

    async claim(requests, owner, now) {
      return (await store.claimDue(requests, owner, now)).deliveries;
    },
    async claimDue(requests, owner, now) {
      if (requests.length === 0) return { deliveries: [], nextDueAt: new Map() };
      // The usual round (no fifo head, no shared bucket): one statement, no transaction around it.
      if (allPlain(requests)) {
        const shift = await shiftOf(direct, now);
        return claimPlainAtOnce(direct, requests, owner, ms(now + shift), shift);
      }
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        return claimDue(tx, requests, owner, ms(now + shift), shift);
      });
    },
    async waitingSubscriptions() {
      const waiting = await waitingSubscriptions(direct);
      // Back on the caller's clock: it schedules claims with these.
      const shift = await shiftOf(direct, clock.now());
      return waiting.map((w) => ({ ...w, nextDueAt: w.nextDueAt - shift }));
    },
    async complete(results, now, hooks) {
      if (results.length === 0) return [];
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        const at = ms(now + shift);
        const ops = hooks && { tx, hooks, shift, woken: new Set<string>() };
        const { written, disabled } = await completeResults(tx, results, at, shift, ops);
        const retrying = results.filter((r) => r.next.status === 'retrying').map((r) => r.subscriptionId);
        for (const id of ops?.woken ?? []) retrying.push(id);
        if (retrying.length > 0) await notifications.notifyWork(tx, retrying);
        await changed(tx, disabled, at);
        return written;
      });
    },
    async release(deliveryIds, owner, now) {
      if (deliveryIds.length === 0) return 0;
      return transaction(async (tx) => {
        const released = await tx.count(CLAIM_SQL.release, { ids: deliveryIds, owner, now: await dbNow(tx, now) });
        if (released > 0) await notifications.notifyWork(tx);
        return released;
      });
    },
    async rescueExpired(now, o) {
      return transaction(async (tx) => {
        // Expired by the database's clock, never by a caller's that runs ahead.
        const at = await dbNow(tx, now);
        const rescued = await tx.count(CLAIM_SQL.rescueExpired, { now: at, expiredBy: o?.all ? Number.MAX_SAFE_INTEGER : at });
        if (rescued > 0) await notifications.notifyWork(tx);
        return rescued;
      });
    },
    async nextDueAt(subscriptionIds, fifoSubscriptionIds = []) {
      if (subscriptionIds.length === 0) return null;
      const earliest = await earliestDue(direct, subscriptionIds, fifoSubscriptionIds);
      // Back on the caller's clock: it sets a timer with it.
      return earliest === null ? null : earliest - (await shiftOf(direct, clock.now()));
    },

    async reportFailedDeliveries(now, hooks) {
      return operationally(now, hooks, (ops, at) => reportDueFailures(ops, at));
    },
    async checkBacklog(now, ageMs, hooks) {
      return operationally(now, hooks, (ops, at) => checkBacklog(ops, at, ageMs));
    },

    getSubscriptionStates: (ids) => reads.getSubscriptionStates(direct, ids),
    failingSubscriptionStates: (at) => reads.failingSubscriptionStates(direct, at),
    async setSubscriptionEnabled(id, enabled, reason, now, hooks) {
      await transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        const at = ms(now + shift);
        if (hooks && enabled === false) {
          const ops = { tx, hooks, shift, woken: new Set<string>() };
          await announceDisabled(ops, id, reason ?? 'disabled', at);
          if (ops.woken.size > 0) await notifications.notifyWork(tx, ops.woken);
        }
        await tx.count(COMPLETION_SQL.setEnabled, { id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now: at });
        await changed(tx, [id], at);
      });
    },
    getEvent: (id) => reads.getEvent(direct, id),
    listDeliveriesOfEvent: (eventId) => reads.listDeliveriesOfEvent(direct, eventId),
    getDelivery: (id) => reads.getDelivery(direct, id),
    listAttempts: (deliveryId) => reads.listAttempts(direct, deliveryId),
    countDeliveriesByStatus: () => reads.countDeliveriesByStatus(direct),

    // Listings throw InvalidCursorError (code INVALID_CURSOR) for a cursor they did not make.
    listEvents: (query) => listings.listEvents(query),
    listDeliveries: (query) => listings.listDeliveries(query),
    listAudit: (query) => listings.listAudit(query),

    listApiSubscriptions: (page) => reads.listApiSubscriptions(direct, page),
    getApiSubscription: (id) => reads.getApiSubscription(direct, id),
    // created_at and updated_at of API subscriptions are the caller's times, shown as given.
    async insertApiSubscription(id, spec, now, tenant) {
      return transaction(async (tx) => {
        const params = { id, spec: JSON.stringify(spec), now: ms(now), tenant: tenant ?? null };
        if ((await tx.count(ADMIN_SQL.insertApiSubscription, params)) === 0) return false;
        await changed(tx, [id], await dbNow(tx, now));
        return true;
      });
    },
    async insertTenantSubscription(id, spec, now, tenant, defaultMax) {
      return transaction(async (tx): Promise<TenantInsertResult> => {
        const [record] = await tx.rows<{ max_subscriptions: number | null }>(ADMIN_SQL.lockTenant, { tenant });
        if (!record) return { result: 'no_tenant' };
        const limit = record.max_subscriptions ?? defaultMax;
        const [count] = await tx.rows<{ n: number }>(ADMIN_SQL.countOfTenant, { tenant });
        if (count!.n >= limit) return { result: 'limit', limit };
        const params = { id, spec: JSON.stringify(spec), now: ms(now), tenant };
        if ((await tx.count(ADMIN_SQL.insertApiSubscription, params)) === 0) return { result: 'taken' };
        await changed(tx, [id], await dbNow(tx, now));
        return { result: 'ok' };
      });
    },
    async updateApiSubscription(id, spec, now, ifUpdatedAt) {
      return transaction(async (tx) => {
        const params = { id, spec: JSON.stringify(spec), now: ms(now), ifUpdatedAt: ifUpdatedAt ?? null };
        if ((await tx.count(ADMIN_SQL.updateApiSubscription, params)) === 0) return false;
        await changed(tx, [id], await dbNow(tx, now));
        return true;
      });
    },
    async deleteApiSubscription(id, now) {
      return transaction(async (tx) => {
        if ((await tx.count(ADMIN_SQL.deleteApiSubscription, { id })) === 0) return false;
        const at = await dbNow(tx, now);
        await tx.count(ADMIN_SQL.deleteSubscriptionState, { id });
        await tx.count(ADMIN_SQL.cancelWaitingOfSubscription, { subscriptionId: id, now: at });
        await changed(tx, [id], at);
        return true;
      });
    },
    async addDeliveries(eventId, subscriptionIds, now) {
      if (subscriptionIds.length === 0) return [];
      return transaction(async (tx) => {
        const ids = await addDeliveries(tx, eventId, subscriptionIds, await dbNow(tx, now));
        if (ids.length > 0) await notifications.notifyWork(tx);
        return ids;
      });
    },
    async retryDelivery(id, now) {
      return transaction(async (tx) => {
        const updated = await tx.rows<DeliveryRow>(ADMIN_SQL.retry, { id, now: await dbNow(tx, now) });
        if (updated.length > 0) await notifications.notifyWork(tx);
        return actionResult(tx, updated, id, 'retry');
      });
    },
    async cancelDelivery(id, now) {
      return transaction(async (tx) => {
        const updated = await tx.rows<DeliveryRow>(ADMIN_SQL.cancel, { id, now: await dbNow(tx, now) });
        return actionResult(tx, updated, id, 'cancel');
      });
    },
    async recoverDeliveries(subscriptionId, since, until, now) {
      if (since >= until) return 0;
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        const recovered = await recoverDeliveries(tx, subscriptionId, since + shift, until + shift, now + shift);
        if (recovered > 0) await notifications.notifyWork(tx);
        return recovered;
      });
    },
    deliveryStats: (ids) => reads.deliveryStats(direct, ids),
    waitingTotals: (except) => reads.waitingTotals(direct, except),
    async appendAudit(entry) {
      await direct.count(ADMIN_SQL.insertAudit, {
        id: entry.id,
        at: ms(entry.at),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        details: JSON.stringify(entry.details),
      });
    },

    async pruneFinished(request) {
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, clock.now());
        return pruneBatch(tx, { ...request, succeededBefore: request.succeededBefore + shift, failedBefore: request.failedBefore + shift });
      });
    },

    // Tenant times are the caller's, shown as given (as for API subscriptions).
    putTenant: (input, now) => putTenant(direct, input, ms(now)),
    getTenant: (id) => getTenant(direct, id),
    listTenants: (query) => listTenants(direct, query),
    async tenantCounts(ids) {
      return ids.length === 0 ? new Map() : tenantCounts(direct, ids);
    },
    // Token times are the caller's too; last_used_at is compared with the caller's `now` only.
    async createTenantToken(token) {
      await direct.rows(TENANT_TOKEN_SQL.insert, tenantTokenParams({ ...token, createdAt: ms(token.createdAt) }));
    },
    listTenantTokens: async (tenant) => (await direct.rows<TenantTokenRow>(TENANT_TOKEN_SQL.list, { tenant })).map(toTenantToken),
    revokeTenantToken: async (tenant, id) => (await direct.count(TENANT_TOKEN_SQL.revoke, { tenant, id })) > 0,
    async findTenantToken(id) {
      const [row] = await direct.rows<TenantTokenRow>(TENANT_TOKEN_SQL.find, { id });
      return row === undefined ? null : toTenantToken(row);
    },
    touchTenantToken: async (id, now) => (await direct.count(TENANT_TOKEN_SQL.touch, touchParams(id, ms(now)))) > 0,
    // Portal times are the caller's too, compared with the caller's `now` only.
    async createPortalLink(link) {
      const params = portalLinkParams({ ...link, createdAt: ms(link.createdAt), expiresAt: ms(link.expiresAt) });
      await transaction(async (tx) => {
        await tx.count(PORTAL_SQL.pruneTenant, { tenant: link.tenant, now: params.createdAt });
        await tx.count(PORTAL_SQL.insert, params);
      });
    },
    async openPortalSession(linkHash, sessionHash, now) {
      const [row] = await direct.rows<PortalSessionRow>(PORTAL_SQL.open, { linkHash, sessionHash, now: ms(now) });
      return row === undefined ? null : toPortalSession(row);
    },
    async findPortalSession(sessionHash) {
      const [row] = await direct.rows<PortalSessionRow>(PORTAL_SQL.find, { sessionHash });
      return row === undefined ? null : toPortalSession(row);
    },
    endPortalSessions: (tenant) => direct.count(PORTAL_SQL.endTenant, { tenant }),
    // Erasure times are the caller's, like the tenant's; the change log's are the database's.
    startTenantErasure: (tenant, now) => transaction((tx) => startErasure(tx, tenant, ms(now))),
    async eraseTenantBatch(tenant, limit, now) {
      const batch = await transaction((tx) =>
        eraseBatch(tx, tenant, limit, ms(now), async (id) => changed(tx, [id], await dbNow(tx, now))),
      );
      return batch.erasure;
    },
    getTenantErasure: (tenant) => getErasure(direct, tenant),
    erasingTenants: () => erasingTenants(direct),

    latestSubscriptionChange: () => latestChange(direct),
    subscriptionChangesSince: (afterSeq) => changesSince(direct, afterSeq),
    async pruneSubscriptionChanges(before) {
      return pruneChanges(direct, ms(before + (await shiftOf(direct, clock.now()))));
    },

    // Event type times are the caller's, shown as given (as for API subscriptions).
    eventTypesVersion: () => eventTypesVersion(direct),
    listEventTypes: () => listEventTypes(direct),
    putEventType: (name, spec, now) => transaction((tx) => putEventType(tx, name, spec, ms(now), notifications.notifyEventTypeChange)),
    deleteEventType: (name) => transaction((tx) => deleteEventType(tx, name, notifications.notifyEventTypeChange)),
    async backup() {
      throw new Error("backup copies the SQLite store; back up Postgres with pg_dump or your provider's snapshots");
    },
  };
  return store;
}
