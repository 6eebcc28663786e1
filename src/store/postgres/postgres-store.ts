import type { Kysely } from 'kysely';
import pg from 'pg';
import { type Clock, systemClock } from '../../lib/clock';
import { capacityOf } from '../../lib/token-bucket';
import { newDeliveryId } from '../../lib/ids';
import { idsToLookUp, planIngest, type StoredIdentity } from '../ingest-plan';
import { CHANGES_SQL, type ChangeBoundsRow, type ChangedIdRow, changesPage } from '../sql/subscription-changes';
import { ADMIN_SQL } from '../sqlite/admin-statements';
import { HealthTally } from '../sqlite/complete';
import { deliveryIdFloor } from '../sqlite/delivery-id-floor';
import { listingsOver, type ListingSql } from '../sqlite/listings';
import { PRUNE_SQL, planPrune, type WindowRow } from '../sqlite/prune';
import * as reads from '../sqlite/reads';
import type { DeliveryRow } from '../sqlite/schema';
import { SQL, type DueRow, type HeadRow } from '../sqlite/statements';
import type {
  AttemptResult,
  ClaimedDelivery,
  DeliveryActionResult,
  DeliveryStatus,
  IngestResult,
  NewEvent,
  Store,
  SubscriptionStats,
} from '../types';
import { postgresMigrations } from '../../../migrations/postgres/index';
import { createPool, createPostgresKysely, migratePostgres, type PostgresOptions, type PostgresSchema } from './connect';
import { toPg, valuesOf } from './sql';

/*
 * The Postgres store: several relay instances share one database. It runs the SQLite store's SQL
 * (see sql.ts) in Postgres transactions and passes the same shared Store contract. Claims take due
 * rows FOR UPDATE SKIP LOCKED, so instances never lease the same delivery; every state change is
 * guarded by the lease owner (a late result of an expired lease writes nothing); idempotent ingest
 * is decided by the unique key on events.id; times are moved onto the database's clock (see
 * `time`); commits that make work due NOTIFY every instance's dispatcher.
 */

type Params = Record<string, unknown>;

/** SQL.findEvent for all the ids of a request at once. */
const FIND_EVENTS = `SELECT id, content_hash, delivery_count FROM events WHERE id = ANY(@ids)`;

/** SQL.lease for several rows at once (the rows are locked by this transaction already). */
const LEASE_MANY = `UPDATE deliveries
  SET status = 'delivering', lease_owner = @owner, lease_expires_at = @leaseExpiresAt, updated_at = @now
  WHERE id = ANY(@ids) AND status IN ('pending', 'retrying')`;

/** SQL.finish for a batch: one row per result, each guarded by its own lease owner. */
const FINISH_MANY = `UPDATE deliveries AS d
  SET status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_attempt_at,
    lease_owner = NULL, lease_expires_at = NULL, last_status_code = v.last_status_code,
    last_error = v.last_error, updated_at = @now
  FROM unnest(@ids::text[], @owners::text[], @statuses::text[], @nexts::bigint[], @codes::int[], @errors::text[])
    AS v(id, owner, status, next_attempt_at, last_status_code, last_error)
  WHERE d.id = v.id AND d.status = 'delivering' AND d.lease_owner = v.owner
  RETURNING d.id, d.subscription_id`;

/** SQL.insertAttempt for a batch. */
const INSERT_ATTEMPTS_MANY = `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, request_url,
    request_headers, response_status, response_headers, response_body, error)
  SELECT * FROM unnest(@ids::text[], @deliveryIds::text[], @attempts::int[], @startedAts::bigint[],
    @durations::int[], @urls::text[], @requestHeaders::text[], @responseStatuses::int[],
    @responseHeaders::text[], @bodies::text[], @errors::text[])`;

/** The shared token buckets of `rate_limit` (migrations/postgres/0002-rate-buckets.ts). */
const RATE_SQL = {
  // A full bucket at first sight; then refilled by the time passed, never above the limit.
  // Capacity as the dispatcher's own limiter (capacityOf: a tenth of the limit, at least 1).
  refill: `INSERT INTO rate_buckets (subscription_id, tokens, updated_at) VALUES (@subscriptionId, @capacity, @now)
    ON CONFLICT (subscription_id) DO UPDATE SET
      tokens = LEAST(@capacity::double precision, rate_buckets.tokens + GREATEST(0, @now - rate_buckets.updated_at) * @limit::double precision / @perMs),
      updated_at = GREATEST(rate_buckets.updated_at, @now)
    RETURNING tokens`,
  giveBack: `UPDATE rate_buckets SET tokens = tokens + @n WHERE subscription_id = @subscriptionId`,
} as const;

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

export interface PostgresStoreOptions extends PostgresOptions {
  /**
   * `database` (default): every time a caller passes is moved onto the database's clock before it
   * is stored or compared (shifted by database time minus the caller's `now`, measured in the same
   * transaction), so instances whose clocks disagree can neither claim a delivery early nor take a
   * live lease. `caller`: times are used as given (the shared contract tests, which pass fixed times).
   */
  time?: 'database' | 'caller';
  /** This process's clock (epoch ms), compared with the database's to find the shift; default the system clock. */
  clock?: Clock;
}

/** Channel of one kind of notification (one per schema, so test schemas do not wake each other). */
const channelOf = (kind: 'work' | 'subs', schema: string | undefined) => `hookrelay_${kind}${schema ? `_${schema}` : ''}`.slice(0, 63);

/**
 * Appends to the subscription change log, last in its transaction. Dangerous: Postgres hands out
 * seqs in insert order but readers see rows in commit order, so a reader could see seq 11 before
 * seq 10 commits and skip 10 for good. The table lock makes appenders take turns until commit, so
 * seqs become visible in order. Taken last, after every row lock of the transaction, so no one
 * waits for it while holding something its holder needs (no deadlock); changes are rare.
 */
const CHANGES_PG = {
  lock: `LOCK TABLE subscription_changes IN EXCLUSIVE MODE`,
  append: `INSERT INTO subscription_changes (subscription_id, changed_at) SELECT unnest(@ids::text[]), @now`,
} as const;

export function createPostgresStore(opts: PostgresStoreOptions): Store {
  const pool = createPool(opts);
  const time = opts.time ?? 'database';
  const clock = opts.clock ?? systemClock;
  const channel = channelOf('work', opts.schema);
  const subsChannel = channelOf('subs', opts.schema);
  const listeners = new Set<() => void>();
  const subsListeners = new Set<() => void>();
  let listening: pg.Client | undefined;
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

  /** Database time minus the caller's `now` (0 with time: 'caller'). */
  async function shiftOf(tx: Tx, callerNow: number): Promise<number> {
    if (time === 'caller') return 0;
    const [row] = await tx.rows<{ now: number }>(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now`);
    return row!.now - Math.round(callerNow);
  }

  /** Wakes every instance's dispatcher once the transaction commits. */
  const notify = (tx: Tx) => tx.rows(`SELECT pg_notify('${channel}', '')`);

  /** Records that these subscriptions changed, and tells every instance once the transaction commits. */
  async function appendChanges(tx: Tx, ids: string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await tx.count(CHANGES_PG.lock);
    await tx.count(CHANGES_PG.append, { ids, now });
    await tx.rows(`SELECT pg_notify('${subsChannel}', '')`);
  }

  /**
   * One connection LISTENing on both channels for the whole store, opened with the first listener;
   * reopened after a failure, and then every listener is called once: notifications sent while it
   * was down are lost, so readers look again.
   */
  async function listen(reopened = false): Promise<void> {
    if (listening || (listeners.size === 0 && subsListeners.size === 0) || closing) return;
    const client = new pg.Client({ connectionString: opts.url });
    listening = client;
    const retry = () => {
      if (listening !== client) return;
      listening = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void listen(true), 1000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      for (const l of message.channel === subsChannel ? subsListeners : listeners) l();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      await client.query(`LISTEN ${subsChannel}`);
    } catch {
      retry();
      return;
    }
    if (reopened) for (const l of [...listeners, ...subsListeners]) l();
  }

  const listings = listingsOver(<R>({ sql, params }: ListingSql) => direct.rows<R>(sql, params));

  return {
    migrate: () => migratePostgres(kysely, opts.schema),
    async ready() {
      try {
        await direct.rows('SELECT 1');
        const applied = await direct.rows<{ n: number }>(`SELECT count(*)::int AS n FROM kysely_migration`);
        return applied[0]!.n === Object.keys(postgresMigrations).length;
      } catch {
        return false;
      }
    },
    close: () =>
      (closing ??= (async () => {
        const client = listening;
        listening = undefined;
        await client?.end().catch(() => undefined);
        await kysely.destroy();
      })()),

    onWork(listener) {
      listeners.add(listener);
      void listen();
      return () => {
        listeners.delete(listener);
      };
    },
    onSubscriptionChange(listener) {
      subsListeners.add(listener);
      void listen();
      return () => {
        subsListeners.delete(listener);
      };
    },

    async ingest(requests) {
      if (requests.length === 0) return [];
      // Another instance may insert the same id between our check and our insert: the unique key
      // decides, and the group runs again and now sees it as a replay (or a conflict).
      for (let round = 0; ; round++) {
        try {
          return await transaction(async (tx) => {
            const shift = await shiftOf(tx, clock.now());
            const results: IngestResult[] = [];
            for (const events of requests) results.push(await ingestRequest(tx, events, shift));
            if (results.some((r) => r.kind === 'ok' && r.events.some((e) => e.created && e.deliveries > 0))) await notify(tx);
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
        const shift = await shiftOf(tx, now);
        const at = ms(now + shift);
        const claimed: ClaimedDelivery[] = [];
        for (const request of requests) {
          let limit = Math.floor(request.limit);
          if (limit <= 0) continue;
          if (request.rateLimit) limit = await takeTokens(tx, request.subscriptionId, request.rateLimit, at, limit);
          if (limit <= 0) continue;
          const rows = request.fifo
            ? await dueHead(tx, request.subscriptionId, at)
            : await tx.rows<DueRow>(`${SQL.selectDue} FOR UPDATE OF d SKIP LOCKED`, {
                subscriptionId: request.subscriptionId,
                now: at,
                limit,
              });
          // Tokens taken for rows that were not there go back.
          if (request.rateLimit && rows.length < limit)
            await tx.count(RATE_SQL.giveBack, { subscriptionId: request.subscriptionId, n: limit - rows.length });
          // One statement for the batch: a round trip per row is what costs on a network database.
          if (rows.length > 0)
            await tx.count(LEASE_MANY, { ids: rows.map((r) => r.id), owner, leaseExpiresAt: ms(request.leaseExpiresAt + shift), now: at });
          for (const row of rows) {
            claimed.push({
              id: row.id,
              subscriptionId: row.subscription_id,
              attempts: row.attempts,
              event: { id: row.event_id, type: row.event_type, data: row.event_data, createdAt: row.event_created_at },
            });
          }
        }
        return claimed;
      });
    },

    async complete(results, now) {
      if (results.length === 0) return [];
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        now += shift;
        const written: boolean[] = [];
        const disabled: string[] = [];
        const health = new HealthTally();
        const flush = async () => {
          for (const { id, success, failures } of health.drain()) {
            if (success) await tx.count(SQL.recordSuccess, { id, now: ms(now) });
            if (failures > 0) await tx.count(SQL.recordFailure, { id, now: ms(now), count: failures });
          }
        };
        const repeated = new Set(results.map((r) => r.deliveryId)).size !== results.length;
        if (repeated || results.some((r) => r.disableSubscription !== undefined)) {
          // Rare (410 Gone, or one delivery twice in a batch): one by one, in order, so the disable
          // lands in order with the health updates and only the first of two results wins.
          for (const result of results) written.push(await completeAttempt(tx, result, ms(now), shift, health, flush, disabled));
        } else {
          written.push(...(await completeMany(tx, results, ms(now), shift, health)));
        }
        if (results.some((r) => r.next.status === 'retrying')) await notify(tx);
        await flush();
        await appendChanges(tx, disabled, ms(now));
        return written;
      });
    },

    async release(deliveryIds, owner, now) {
      if (deliveryIds.length === 0) return 0;
      return transaction(async (tx) => {
        const at = ms(now + (await shiftOf(tx, now)));
        let released = 0;
        for (const id of deliveryIds) released += await tx.count(SQL.release, { id, owner, now: at });
        if (released > 0) await notify(tx);
        return released;
      });
    },
    async rescueExpired(now, o) {
      return transaction(async (tx) => {
        // Expired by the database's clock, never by a caller's that runs ahead.
        const at = ms(now + (await shiftOf(tx, now)));
        const rescued = await tx.count(SQL.rescueExpired, { now: at, expiredBy: o?.all ? Number.MAX_SAFE_INTEGER : at });
        if (rescued > 0) await notify(tx);
        return rescued;
      });
    },
    async nextDueAt(subscriptionIds, fifoSubscriptionIds = []) {
      const earliest = await earliestDue(subscriptionIds, fifoSubscriptionIds);
      // Back on the caller's clock: it sets a timer with it.
      return earliest === null ? null : earliest - (await shiftOf(direct, clock.now()));
    },

    getSubscriptionStates: (ids) => reads.getSubscriptionStates(kysely, ids),
    async setSubscriptionEnabled(id, enabled, reason, now) {
      await transaction(async (tx) => {
        await tx.count(SQL.setEnabled, { id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now: ms(now) });
        await appendChanges(tx, [id], ms(now + (await shiftOf(tx, now))));
      });
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
    getApiSubscription: (id) => reads.getApiSubscription(kysely, id),
    async insertApiSubscription(id, spec, now) {
      return transaction(async (tx) => {
        if ((await tx.count(ADMIN_SQL.insertApiSubscription, { id, spec: JSON.stringify(spec), now: ms(now) })) === 0) return false;
        await appendChanges(tx, [id], ms(now + (await shiftOf(tx, now))));
        return true;
      });
    },
    async updateApiSubscription(id, spec, now) {
      return transaction(async (tx) => {
        if ((await tx.count(ADMIN_SQL.updateApiSubscription, { id, spec: JSON.stringify(spec), now: ms(now) })) === 0) return false;
        await appendChanges(tx, [id], ms(now + (await shiftOf(tx, now))));
        return true;
      });
    },
    async deleteApiSubscription(id, now) {
      return transaction(async (tx) => {
        if ((await tx.count(ADMIN_SQL.deleteApiSubscription, { id })) === 0) return false;
        await tx.count(ADMIN_SQL.deleteSubscriptionState, { id });
        await tx.count(ADMIN_SQL.cancelWaitingOfSubscription, { subscriptionId: id, now: ms(now) });
        await appendChanges(tx, [id], ms(now + (await shiftOf(tx, now))));
        return true;
      });
    },
    async addDeliveries(eventId, subscriptionIds, now) {
      if (subscriptionIds.length === 0) return [];
      return transaction(async (tx) => {
        const [event] = await tx.rows<{ type: string }>(ADMIN_SQL.eventType, { id: eventId });
        if (event === undefined) return [];
        const at = ms(now + (await shiftOf(tx, now)));
        const ids: string[] = [];
        for (const subscriptionId of subscriptionIds) {
          const id = newDeliveryId(ms(now));
          await tx.count(ADMIN_SQL.insertDelivery, { id, eventId, subscriptionId, eventType: event.type, createdAt: at });
          ids.push(id);
        }
        await notify(tx);
        return ids;
      });
    },
    async retryDelivery(id, now) {
      return transaction(async (tx) => {
        const updated = await tx.rows<DeliveryRow>(ADMIN_SQL.retry, { id, now: ms(now + (await shiftOf(tx, now))) });
        if (updated.length > 0) await notify(tx);
        return act(tx, updated, id, 'retry');
      });
    },
    async cancelDelivery(id, now) {
      return transaction(async (tx) =>
        act(tx, await tx.rows<DeliveryRow>(ADMIN_SQL.cancel, { id, now: ms(now + (await shiftOf(tx, now))) }), id, 'cancel'),
      );
    },
    async recoverDeliveries(subscriptionId, since, until, now) {
      if (since >= until) return 0;
      return transaction(async (tx) => {
        const shift = await shiftOf(tx, now);
        const recovered = await tx.count(ADMIN_SQL.recover, {
          subscriptionId,
          since: ms(since + shift),
          until: ms(until + shift),
          sinceId: deliveryIdFloor(since + shift),
          now: ms(now + shift),
        });
        if (recovered > 0) await notify(tx);
        return recovered;
      });
    },
    deliveryStats,
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
        request = { ...request, succeededBefore: request.succeededBefore + shift, failedBefore: request.failedBefore + shift };
        const plan = planPrune(request);
        const rows = await tx.rows<WindowRow>(PRUNE_SQL.window, plan.params);
        let deleted = 0;
        for (const seq of plan.doomed(rows)) deleted += await tx.count(PRUNE_SQL.deleteEvent, { seq });
        return { deleted, next: plan.next(rows) };
      });
    },

    async latestSubscriptionChange() {
      return (await direct.rows<{ seq: number }>(CHANGES_SQL.latest))[0]!.seq;
    },
    async subscriptionChangesSince(afterSeq) {
      // Ids first, bounds after (see changesPage): each statement sees what committed before it.
      const rows = await direct.rows<ChangedIdRow>(CHANGES_SQL.since, { after: afterSeq });
      const [bounds] = await direct.rows<ChangeBoundsRow>(CHANGES_SQL.bounds);
      return changesPage(afterSeq, rows, bounds!);
    },
    async pruneSubscriptionChanges(before) {
      const shift = await shiftOf(direct, clock.now());
      return direct.count(CHANGES_SQL.prune, { before: ms(before + shift) });
    },

    async backup() {
      throw new Error("backup copies the SQLite store; back up Postgres with pg_dump or your provider's snapshots");
    },
  };

  /** Refills the subscription's bucket to `at` and takes up to `want` whole tokens; the caller gives back what it does not use. */
  async function takeTokens(
    tx: Tx,
    subscriptionId: string,
    rate: { limit: number; perMs: number },
    at: number,
    want: number,
  ): Promise<number> {
    const [bucket] = await tx.rows<{ tokens: number }>(RATE_SQL.refill, {
      subscriptionId,
      capacity: capacityOf(rate),
      limit: rate.limit,
      perMs: rate.perMs,
      now: at,
    });
    const n = Math.min(want, Math.floor(bucket!.tokens));
    if (n > 0) await tx.count(RATE_SQL.giveBack, { subscriptionId, n: -n });
    return n;
  }

  async function earliestDue(subscriptionIds: string[], fifoSubscriptionIds: string[]): Promise<number | null> {
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
  }

  /** One ingest request on a Postgres transaction: the shared rules (planIngest), one lookup for all its ids. */
  async function ingestRequest(tx: Tx, events: NewEvent[], shift: number): Promise<IngestResult> {
    const ids = idsToLookUp(events);
    const found = ids.length === 0 ? [] : await tx.rows<StoredIdentity & { id: string }>(FIND_EVENTS, { ids });
    const plan = planIngest(events, new Map(found.map((f) => [f.id, f])));
    if (plan.kind === 'conflict') return plan;
    for (const event of plan.toInsert) {
      const createdAt = ms(event.createdAt + shift);
      await tx.count(SQL.insertEvent, {
        id: event.id,
        type: event.type,
        data: event.data,
        contentHash: event.contentHash,
        createdAt,
        deliveryCount: event.subscriptionIds.length,
      });
      for (const subscriptionId of event.subscriptionIds) {
        await tx.count(SQL.insertDelivery, {
          id: newDeliveryId(createdAt),
          eventId: event.id,
          subscriptionId,
          eventType: event.type,
          createdAt,
        });
      }
    }
    return { kind: 'ok', events: plan.events };
  }

  async function dueHead(tx: Tx, subscriptionId: string, now: number): Promise<DueRow[]> {
    const [head] = await tx.rows<HeadRow>(SQL.fifoHead, { subscriptionId });
    if (head === undefined || head.status === 'delivering' || head.next_attempt_at === null || head.next_attempt_at > now) return [];
    // Held by another instance's claim in progress: not ours to take.
    const locked = await tx.rows<{ id: string }>(
      `SELECT id FROM deliveries WHERE id = @id AND status IN ('pending', 'retrying') FOR UPDATE SKIP LOCKED`,
      { id: head.id },
    );
    return locked.length === 1 ? [head] : [];
  }

  async function completeAttempt(
    tx: Tx,
    result: AttemptResult,
    now: number,
    shift: number,
    health: HealthTally,
    flush: () => Promise<void>,
    disabled: string[],
  ): Promise<boolean> {
    const { record, next } = result;
    const [finished] = await tx.rows<{ subscription_id: string }>(SQL.finish, {
      id: result.deliveryId,
      owner: result.leaseOwner,
      status: next.status,
      nextAttemptAt: next.status === 'retrying' ? Math.round(next.nextAttemptAt + shift) : null,
      lastStatusCode: record.responseStatus,
      lastError: record.error,
      now,
    });
    if (finished === undefined) return false;
    await tx.count(SQL.insertAttempt, {
      id: record.id,
      deliveryId: result.deliveryId,
      attempt: record.attempt,
      startedAt: Math.round(record.startedAt + shift),
      durationMs: Math.round(record.durationMs),
      requestUrl: record.requestUrl,
      requestHeaders: JSON.stringify(record.requestHeaders),
      responseStatus: record.responseStatus,
      responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
      responseBody: record.responseBody,
      error: record.error,
    });
    const subscriptionId = finished.subscription_id;
    if (next.status !== 'cancelled') health.count(subscriptionId, next.status === 'succeeded');
    if (result.disableSubscription !== undefined) {
      await flush();
      await tx.count(SQL.setEnabled, { id: subscriptionId, enabled: 0, reason: result.disableSubscription, now });
      disabled.push(subscriptionId);
    }
    return true;
  }

  /**
   * A whole batch of results in two statements (the guarded updates, then the attempt records of
   * those that were still ours): on a network database the round trips are what cost.
   */
  async function completeMany(tx: Tx, results: AttemptResult[], now: number, shift: number, health: HealthTally): Promise<boolean[]> {
    const finished = await tx.rows<{ id: string; subscription_id: string }>(FINISH_MANY, {
      now,
      ids: results.map((r) => r.deliveryId),
      owners: results.map((r) => r.leaseOwner),
      statuses: results.map((r) => r.next.status),
      nexts: results.map((r) => (r.next.status === 'retrying' ? Math.round(r.next.nextAttemptAt + shift) : null)),
      codes: results.map((r) => r.record.responseStatus),
      errors: results.map((r) => r.record.error),
    });
    const ours = new Map(finished.map((f) => [f.id, f.subscription_id]));
    const kept = results.filter((r) => ours.has(r.deliveryId));
    if (kept.length > 0) {
      await tx.count(INSERT_ATTEMPTS_MANY, {
        ids: kept.map((r) => r.record.id),
        deliveryIds: kept.map((r) => r.deliveryId),
        attempts: kept.map((r) => r.record.attempt),
        startedAts: kept.map((r) => Math.round(r.record.startedAt + shift)),
        durations: kept.map((r) => Math.round(r.record.durationMs)),
        urls: kept.map((r) => r.record.requestUrl),
        requestHeaders: kept.map((r) => JSON.stringify(r.record.requestHeaders)),
        responseStatuses: kept.map((r) => r.record.responseStatus),
        responseHeaders: kept.map((r) => (r.record.responseHeaders === null ? null : JSON.stringify(r.record.responseHeaders))),
        bodies: kept.map((r) => r.record.responseBody),
        errors: kept.map((r) => r.record.error),
      });
    }
    for (const r of kept) if (r.next.status !== 'cancelled') health.count(ours.get(r.deliveryId)!, r.next.status === 'succeeded');
    return results.map((r) => ours.has(r.deliveryId));
  }

  async function act(tx: Tx, updated: DeliveryRow[], id: string, action: 'retry' | 'cancel'): Promise<DeliveryActionResult> {
    if (updated[0] !== undefined) return { kind: 'ok', delivery: reads.toDelivery(updated[0]) };
    const [current] = await tx.rows<DeliveryRow & { status: DeliveryStatus }>(ADMIN_SQL.selectDelivery, { id });
    if (current === undefined) return { kind: 'not_found' };
    if (action === 'cancel' && current.status === 'cancelled') return { kind: 'ok', delivery: reads.toDelivery(current) };
    return { kind: 'conflict', status: current.status };
  }

  async function deliveryStats(): Promise<SubscriptionStats[]> {
    return reads.statsFrom(await direct.rows(reads.STATS_SQL.counts), await direct.rows(reads.STATS_SQL.oldestWaiting));
  }
}

// Columns are BIGINT/INTEGER: a computed time with a fraction (jitter) is rounded, as in SQLite.
const ms = (time: number): number => Math.round(time);
