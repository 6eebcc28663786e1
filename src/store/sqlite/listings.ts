import type Database from 'better-sqlite3';
import type { AuditEntry, DeliveryQuery, DeliveryStatus, DeliveryWithEventType, EventQuery, Page, StoredEvent } from '../types';
import {
  auditCursor,
  decodeAuditCursor,
  decodeDeliveryCursor,
  decodeEventCursor,
  deliveryCursor,
  eventCursor,
  type EventKey,
} from './cursor';
import { deliveryIdFloor } from './delivery-id-floor';
import { toDelivery } from './reads';
import type { AuditLogRow, DeliveryRow, EventRow } from './schema';

/*
 * Keyset-paginated admin listings, newest first. Plain SQL rather than Kysely so each shape can pin
 * its index with INDEXED BY: without statistics the planner happily walks `deliveries_status` for a
 * subscription filter (thinking an id range is as good), and a missing index must fail loudly
 * rather than turn a page into a scan. Every page reads limit + 1 rows to know whether more exist.
 * The SQL builders are exported so tests can EXPLAIN every shape.
 */

/** Rows per page: the Store contract says 1..500; anything else is clamped rather than trusted. */
export const MAX_PAGE_SIZE = 500;

const ALL_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled'];

type Params = Record<string, string | number>;

/** One listing query: SQL with named parameters. */
export interface ListingSql {
  sql: string;
  params: Params;
}

/** Events by (created_at DESC, seq DESC); `events_type` or `events_created`, both ending in the rowid. */
export function eventListingSql(query: EventQuery, after: EventKey | null, limit: number): ListingSql {
  const where: string[] = [];
  const params: Params = { limit };
  if (query.type !== undefined) {
    where.push('type = @type');
    params.type = query.type;
  }
  if (query.since !== undefined) {
    where.push('created_at >= @since');
    params.since = query.since;
  }
  // The tighter upper bound becomes the index range: the cursor's, so a page never re-walks the
  // rows of earlier pages, unless `until` is below it (the filter changed between pages).
  const cursorBounds = after !== null && (query.until === undefined || after.createdAt < query.until);
  if (!cursorBounds && query.until !== undefined) {
    where.push('created_at < @until');
    params.until = query.until;
  }
  if (after !== null) {
    if (cursorBounds) where.push('created_at <= @afterCreatedAt');
    where.push('(created_at, seq) < (@afterCreatedAt, @afterSeq)');
    params.afterCreatedAt = after.createdAt;
    params.afterSeq = after.seq;
  }
  const index = query.type !== undefined ? 'events_type' : 'events_created';
  return {
    sql: `SELECT seq, id, type, data, created_at, delivery_count FROM events INDEXED BY ${index}
      ${whereClause(where)} ORDER BY created_at DESC, seq DESC LIMIT @limit`,
    params,
  };
}

/**
 * Deliveries by id DESC. A subscription filter needs a status too (`deliveries_subscription` is
 * (subscription_id, status, id)): listDeliveries runs one query per status and merges them.
 */
export function deliveryListingSql(query: DeliveryQuery, after: string | null, limit: number): ListingSql {
  const where: string[] = [];
  const params: Params = { limit };
  const add = (term: string, name: string, value: string | number | undefined) => {
    if (value === undefined) return;
    where.push(term);
    params[name] = value;
  };
  add('subscription_id = @subscriptionId', 'subscriptionId', query.subscriptionId);
  add('status = @status', 'status', query.status);
  add('event_type = @eventType', 'eventType', query.eventType);
  add('created_at >= @since', 'since', query.since);
  // Not exact (created_at decides), but bounds the walk: no older row can match.
  add('id >= @sinceId', 'sinceId', query.since === undefined ? undefined : deliveryIdFloor(query.since));
  add('created_at < @until', 'until', query.until);
  add('id < @after', 'after', after ?? undefined);
  const index = deliveryIndex(query);
  return {
    sql: `SELECT * FROM deliveries${index === null ? '' : ` INDEXED BY ${index}`}
      ${whereClause(where)} ORDER BY id DESC LIMIT @limit`,
    params,
  };
}

function deliveryIndex(query: DeliveryQuery): string | null {
  if (query.subscriptionId !== undefined) {
    if (query.status === undefined) throw new Error('deliveryListingSql: a subscription filter needs a status');
    return 'deliveries_subscription';
  }
  if (query.status !== undefined) return 'deliveries_status';
  if (query.eventType !== undefined) return 'deliveries_event_type';
  return null; // the primary key
}

/** Audit entries by seq DESC (the rowid). */
export function auditListingSql(after: number | null, limit: number): ListingSql {
  return {
    sql: `SELECT * FROM audit_log ${after === null ? '' : 'WHERE seq < @after'} ORDER BY seq DESC LIMIT @limit`,
    params: after === null ? { limit } : { limit, after },
  };
}

/** The listings over one connection; statements are prepared per query shape and kept. */
export function createListings(db: Database.Database) {
  const statements = new Map<string, Database.Statement<[Params]>>();
  return listingsOver(<R>({ sql, params }: ListingSql): R[] => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare<[Params]>(sql);
      statements.set(sql, statement);
    }
    return statement.all(params) as R[];
  });
}

/** Runs one listing query; the Postgres store runs the same SQL through its own connection. */
export type RunListing = <R>(listing: ListingSql) => R[] | Promise<R[]>;

/** The three listings over any backend that runs ListingSql. */
export function listingsOver(all: RunListing) {
  return {
    async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
      const after = query.cursor === undefined ? null : decodeEventCursor(query.cursor);
      const size = pageSize(query.limit);
      const rows = await all<EventRow & { seq: number }>(eventListingSql(query, after, size + 1));
      return page(rows, size, toEvent, (row) => eventCursor({ createdAt: row.created_at, seq: row.seq }));
    },

    async listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryWithEventType>> {
      const after = query.cursor === undefined ? null : decodeDeliveryCursor(query.cursor);
      const size = pageSize(query.limit);
      const statuses = query.status !== undefined || query.subscriptionId === undefined ? [query.status] : ALL_STATUSES;
      let rows: DeliveryRow[] = [];
      for (const status of statuses) rows.push(...(await all<DeliveryRow>(deliveryListingSql({ ...query, status }, after, size + 1))));
      // The newest size + 1 overall are among the newest size + 1 of each status.
      if (statuses.length > 1) rows = rows.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, size + 1);
      return page(
        rows,
        size,
        (row) => ({ ...toDelivery(row), eventType: row.event_type }),
        (row) => deliveryCursor(row.id),
      );
    },

    async listAudit(query: { limit: number; cursor?: string | undefined }): Promise<Page<AuditEntry>> {
      const after = query.cursor === undefined ? null : decodeAuditCursor(query.cursor);
      const size = pageSize(query.limit);
      const rows = await all<AuditLogRow & { seq: number }>(auditListingSql(after, size + 1));
      return page(rows, size, toAuditEntry, (row) => auditCursor(row.seq));
    },
  };
}

export type Listings = ReturnType<typeof listingsOver>;

function page<R, T>(rows: R[], size: number, map: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const data = rows.slice(0, size);
  const last = data[data.length - 1];
  return { data: data.map(map), nextCursor: rows.length > size && last !== undefined ? cursorOf(last) : null };
}

function pageSize(limit: number): number {
  const n = Math.floor(limit);
  return Number.isFinite(n) ? Math.min(Math.max(n, 1), MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
}

function whereClause(terms: string[]): string {
  return terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`;
}

function toEvent(row: EventRow): StoredEvent {
  return { id: row.id, type: row.type, data: row.data, createdAt: row.created_at, deliveryCount: row.delivery_count };
}

function toAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
