import type { Kysely } from 'kysely';
import type pg from 'pg';
import { newDeliveryId } from '../../lib/ids';
import { ADMIN_SQL } from '../sqlite/admin-statements';
import { pruneCursor, decodePruneCursor } from '../sqlite/cursor';
import { deliveryIdFloor } from '../sqlite/delivery-id-floor';
import { listingsOver, type ListingSql } from '../sqlite/listings';
import { PRUNE_SQL } from '../sqlite/prune';
import * as reads from '../sqlite/reads';
import type { DeliveryRow } from '../sqlite/schema';
import { SQL, type DueRow, type HeadRow } from '../sqlite/statements';
import type {
  AttemptResult,
  ClaimedDelivery,
  DeliveryActionResult,
  DeliveryStatus,
  IngestResult,
  IngestedEvent,
  NewEvent,
  Store,
  SubscriptionStats,
} from '../types';
import { createPool, createPostgresKysely, migratePostgres, type PostgresOptions, type PostgresSchema } from './connect';
import { toPg, valuesOf } from './sql';

/*
 * The Postgres store (issue 9, in progress). It runs the SQLite store's SQL (see sql.ts) in
 * Postgres transactions, and passes the same shared Store contract. Built so far: every Store
 * method on one database, claims that skip rows another instance holds (FOR UPDATE SKIP LOCKED),
 * every state change guarded by the lease owner, and idempotent ingest decided by the unique key.
 * Not yet: lease and due comparisons on database time (the caller's clock is used, as in SQLite),
 * LISTEN/NOTIFY wake-ups, fifo and rate limits across instances, and wiring it to
 * `storage.postgres` (still a config error).
 */

type Params = Record<string, unknown>;

interface Tx {
  rows<R>(sql: string, params?: Params): Promise<R[]>;
  count(sql: string, params?: Params): Promise<number>;
}

function over(client: pg.PoolClient | pg.Pool): Tx {
  const run = (sql: string, params: Params = {}) => {
    const query = toPg(sql);
    return client.query(query.text, valuesOf(query, params));
  };
  return {
    rows: async <R>(sql: string, params?: Params) => (await run(sql, params)).rows as R[],
    count: async (sql: string, params?: Params) => (await run(sql, params)).rowCount ?? 0,
  };
}

const UNIQUE_VIOLATION = '23505';

export function createPostgresStore(opts: PostgresOptions): Store {
  const pool = createPool(opts);
  const kysely: Kysely<PostgresSchema> = createPostgresKysely(pool);
  const direct = over(pool);
  let closing: Promise<void> | undefined;

  async function transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(over(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  const listings = listingsOver(<R>({ sql, params }: ListingSql) => direct.rows<R>(sql, params));

  return {
    migrate: () => migratePostgres(kysely, opts.schema),
    async ready() {
      try {
        await direct.rows('SELECT 1');
        const applied = await direct.rows<{ n: number }>(`SELECT count(*)::int AS n FROM kysely_migration`);
        return applied[0]!.n > 0;
      } catch {
        return false;
      }
    },
    close: () => (closing ??= kysely.destroy()),

    async ingest(requests) {
      if (requests.length === 0) return [];
      // Another instance may insert the same id between our check and our insert: the unique key
      // decides, and the group runs again and now sees it as a replay (or a conflict).
      for (let round = 0; ; round++) {
        try {
          return await transaction(async (tx) => {
            const results: IngestResult[] = [];
            for (const events of requests) results.push(await ingestRequest(tx, events));
            return results;
          });
        } catch (err) {
          if ((err as { code?: string }).code !== UNIQUE_VIOLATION || round >= 3) throw err;
        }
      }
    },

    async claim(requests, owner, now) {
      if (requests.length === 0) return [];
      return transaction(async (tx) => {
        const claimed: ClaimedDelivery[] = [];
        for (const request of requests) {
          const limit = Math.floor(request.limit);
          if (limit <= 0) continue;
          const rows = request.fifo ? await dueHead(tx, request.subscriptionId, ms(now)) : await tx.rows<DueRow>(`${SQL.selectDue} FOR UPDATE OF d SKIP LOCKED`, { subscriptionId: request.subscriptionId, now: ms(now), limit });
          for (const row of rows) {
            await tx.count(SQL.lease, { id: row.id, owner, leaseExpiresAt: ms(request.leaseExpiresAt), now: ms(now) });
            claimed.push({ id: row.id, subscriptionId: row.subscription_id, attempts: row.attempts, event: { id: row.event_id, type: row.event_type, data: row.event_data, createdAt: row.event_created_at } });
          }
        }
        return claimed;
      });
    },

    async complete(results, now) {
      if (results.length === 0) return [];
      return transaction(async (tx) => {
        const written: boolean[] = [];
        const health = new Map<string, { success: boolean; failures: number }>();
        const flush = async () => {
          for (const [id, { success, failures }] of health) {
            if (success) await tx.count(SQL.recordSuccess, { id, now: ms(now) });
            if (failures > 0) await tx.count(SQL.recordFailure, { id, now: ms(now), count: failures });
          }
          health.clear();
        };
        for (const result of results) written.push(await completeAttempt(tx, result, ms(now), health, flush));
        await flush();
        return written;
      });
    },

    async release(deliveryIds, owner, now) {
      if (deliveryIds.length === 0) return 0;
      return transaction(async (tx) => {
        let released = 0;
        for (const id of deliveryIds) released += await tx.count(SQL.release, { id, owner, now: ms(now) });
        return released;
      });
    },
    async rescueExpired(now, o) {
      return direct.count(SQL.rescueExpired, { now: ms(now), expiredBy: o?.all ? Number.MAX_SAFE_INTEGER : ms(now) });
    },
    async nextDueAt(subscriptionIds, fifoSubscriptionIds = []) {
      const fifo = new Set(fifoSubscriptionIds);
      let earliest: number | null = null;
      for (const subscriptionId of new Set(subscriptionIds)) {
        let at: number | null;
        if (fifo.has(subscriptionId)) {
          const [head] = await direct.rows<HeadRow>(SQL.fifoHead, { subscriptionId });
          at = head === undefined || head.status === 'delivering' ? null : head.next_attempt_at;
        } else {
          at = (await direct.rows<{ at: number | null }>(SQL.nextDue, { subscriptionId }))[0]?.at ?? null;
        }
        if (at !== null && (earliest === null || at < earliest)) earliest = at;
      }
      return earliest;
    },

    getSubscriptionStates: () => reads.getSubscriptionStates(kysely),
    async setSubscriptionEnabled(id, enabled, reason, now) {
      await direct.count(SQL.setEnabled, { id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now: ms(now) });
    },
    getEvent: (id) => reads.getEvent(kysely, id),
    listDeliveriesOfEvent: (eventId) => reads.listDeliveriesOfEvent(kysely, eventId),
    getDelivery: (id) => reads.getDelivery(kysely, id),
    listAttempts: (deliveryId) => reads.listAttempts(kysely, deliveryId),
    countDeliveriesByStatus: () => reads.countDeliveriesByStatus(kysely),

    listEvents: (query) => listings.listEvents(query),
    listDeliveries: (query) => listings.listDeliveries(query),
    listAudit: (query) => listings.listAudit(query),

    listApiSubscriptions: () => reads.listApiSubscriptions(kysely),
    async insertApiSubscription(id, spec, now) {
      return (await direct.count(ADMIN_SQL.insertApiSubscription, { id, spec: JSON.stringify(spec), now: ms(now) })) === 1;
    },
    async updateApiSubscription(id, spec, now) {
      return (await direct.count(ADMIN_SQL.updateApiSubscription, { id, spec: JSON.stringify(spec), now: ms(now) })) === 1;
    },
    async deleteApiSubscription(id, now) {
      return transaction(async (tx) => {
        if ((await tx.count(ADMIN_SQL.deleteApiSubscription, { id })) === 0) return false;
        await tx.count(ADMIN_SQL.deleteSubscriptionState, { id });
        await tx.count(ADMIN_SQL.cancelWaitingOfSubscription, { subscriptionId: id, now: ms(now) });
        return true;
      });
    },
    async addDeliveries(eventId, subscriptionIds, now) {
      if (subscriptionIds.length === 0) return [];
      return transaction(async (tx) => {
        const [event] = await tx.rows<{ type: string }>(ADMIN_SQL.eventType, { id: eventId });
        if (event === undefined) return [];
        const ids: string[] = [];
        for (const subscriptionId of subscriptionIds) {
          const id = newDeliveryId(ms(now));
          await tx.count(ADMIN_SQL.insertDelivery, { id, eventId, subscriptionId, eventType: event.type, createdAt: ms(now) });
          ids.push(id);
        }
        return ids;
      });
    },
    async retryDelivery(id, now) {
      return act(await direct.rows<DeliveryRow>(ADMIN_SQL.retry, { id, now: ms(now) }), id, 'retry');
    },
    async cancelDelivery(id, now) {
      return act(await direct.rows<DeliveryRow>(ADMIN_SQL.cancel, { id, now: ms(now) }), id, 'cancel');
    },
    async recoverDeliveries(subscriptionId, since, until, now) {
      if (since >= until) return 0;
      return direct.count(ADMIN_SQL.recover, { subscriptionId, since: ms(since), until: ms(until), sinceId: deliveryIdFloor(since), now: ms(now) });
    },
    deliveryStats,
    async appendAudit(entry) {
      await direct.count(ADMIN_SQL.insertAudit, { id: entry.id, at: ms(entry.at), actor: entry.actor, action: entry.action, target: entry.target, details: JSON.stringify(entry.details) });
    },

    async pruneFinished(request) {
      return transaction(async (tx) => {
        const after = request.after === undefined ? { createdAt: Number.MIN_SAFE_INTEGER, seq: 0 } : decodePruneCursor(request.after);
        const limit = Math.max(1, Math.floor(request.limit));
        const rows = await tx.rows<{ seq: number; created_at: number; open: boolean; bad: boolean }>(PRUNE_SQL.window, {
          cutoff: ms(Math.max(request.succeededBefore, request.failedBefore)),
          afterCreatedAt: after.createdAt,
          afterSeq: after.seq,
          limit,
        });
        let deleted = 0;
        for (const row of rows) {
          if (row.open) continue;
          if (row.created_at < (row.bad ? request.failedBefore : request.succeededBefore)) deleted += await tx.count(PRUNE_SQL.deleteEvent, { seq: row.seq });
        }
        const last = rows.at(-1);
        return { deleted, next: rows.length < limit || !last ? null : pruneCursor({ createdAt: last.created_at, seq: last.seq }) };
      });
    },

    async backup() {
      throw new Error('backup copies the SQLite store; back up Postgres with pg_dump or your provider\'s snapshots');
    },
  };

  /** The SQLite store's ingest rules (sqlite/ingest.ts), on a Postgres transaction. */
  async function ingestRequest(tx: Tx, events: NewEvent[]): Promise<IngestResult> {
    const known = new Map<string, number>();
    const firstHash = new Map<string, string>();
    for (const event of events) {
      const seenHash = firstHash.get(event.id);
      if (seenHash !== undefined) {
        if (seenHash !== event.contentHash) return { kind: 'conflict', id: event.id };
        continue;
      }
      firstHash.set(event.id, event.contentHash);
      if (event.freshId) continue;
      const [stored] = await tx.rows<{ content_hash: string; delivery_count: number }>(SQL.findEvent, { id: event.id });
      if (stored === undefined) continue;
      if (stored.content_hash !== event.contentHash) return { kind: 'conflict', id: event.id };
      known.set(event.id, stored.delivery_count);
    }
    const results: IngestedEvent[] = [];
    for (const event of events) {
      const stored = known.get(event.id);
      if (stored !== undefined) {
        results.push({ id: event.id, deliveries: stored, created: false });
        continue;
      }
      const createdAt = ms(event.createdAt);
      await tx.count(SQL.insertEvent, { id: event.id, type: event.type, data: event.data, contentHash: event.contentHash, createdAt, deliveryCount: event.subscriptionIds.length });
      for (const subscriptionId of event.subscriptionIds) {
        await tx.count(SQL.insertDelivery, { id: newDeliveryId(createdAt), eventId: event.id, subscriptionId, eventType: event.type, createdAt });
      }
      known.set(event.id, event.subscriptionIds.length);
      results.push({ id: event.id, deliveries: event.subscriptionIds.length, created: true });
    }
    return { kind: 'ok', events: results };
  }

  async function dueHead(tx: Tx, subscriptionId: string, now: number): Promise<DueRow[]> {
    const [head] = await tx.rows<HeadRow>(SQL.fifoHead, { subscriptionId });
    if (head === undefined || head.status === 'delivering' || head.next_attempt_at === null || head.next_attempt_at > now) return [];
    // Held by another instance's claim in progress: not ours to take.
    const locked = await tx.rows<{ id: string }>(`SELECT id FROM deliveries WHERE id = @id AND status IN ('pending', 'retrying') FOR UPDATE SKIP LOCKED`, { id: head.id });
    return locked.length === 1 ? [head] : [];
  }

  async function completeAttempt(
    tx: Tx,
    result: AttemptResult,
    now: number,
    health: Map<string, { success: boolean; failures: number }>,
    flush: () => Promise<void>,
  ): Promise<boolean> {
    const { record, next } = result;
    const [finished] = await tx.rows<{ subscription_id: string }>(SQL.finish, {
      id: result.deliveryId,
      owner: result.leaseOwner,
      status: next.status,
      nextAttemptAt: next.status === 'retrying' ? Math.round(next.nextAttemptAt) : null,
      lastStatusCode: record.responseStatus,
      lastError: record.error,
      now,
    });
    if (finished === undefined) return false;
    await tx.count(SQL.insertAttempt, {
      id: record.id,
      deliveryId: result.deliveryId,
      attempt: record.attempt,
      startedAt: Math.round(record.startedAt),
      durationMs: Math.round(record.durationMs),
      requestUrl: record.requestUrl,
      requestHeaders: JSON.stringify(record.requestHeaders),
      responseStatus: record.responseStatus,
      responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
      responseBody: record.responseBody,
      error: record.error,
    });
    const subscriptionId = finished.subscription_id;
    if (next.status !== 'cancelled') {
      const entry = health.get(subscriptionId) ?? { success: false, failures: 0 };
      if (next.status === 'succeeded') {
        entry.success = true;
        entry.failures = 0;
      } else entry.failures++;
      health.set(subscriptionId, entry);
    }
    if (result.disableSubscription !== undefined) {
      await flush();
      await tx.count(SQL.setEnabled, { id: subscriptionId, enabled: 0, reason: result.disableSubscription, now });
    }
    return true;
  }

  async function act(updated: DeliveryRow[], id: string, action: 'retry' | 'cancel'): Promise<DeliveryActionResult> {
    if (updated[0] !== undefined) return { kind: 'ok', delivery: reads.toDelivery(updated[0]) };
    const [current] = await direct.rows<DeliveryRow & { status: DeliveryStatus }>(ADMIN_SQL.selectDelivery, { id });
    if (current === undefined) return { kind: 'not_found' };
    if (action === 'cancel' && current.status === 'cancelled') return { kind: 'ok', delivery: reads.toDelivery(current) };
    return { kind: 'conflict', status: current.status };
  }

  async function deliveryStats(): Promise<SubscriptionStats[]> {
    return reads.statsFrom(
      await direct.rows(reads.STATS_SQL.counts),
      await direct.rows(reads.STATS_SQL.oldestWaiting),
    );
  }
}

// Columns are BIGINT/INTEGER: a computed time with a fraction (jitter) is rounded, as in SQLite.
const ms = (time: number): number => Math.round(time);
