import type { Selectable } from 'kysely';
import type { AuditEntry, DeliveryQuery, DeliveryStatus, DeliveryWithEventType, EventQuery, Page, StoredEvent } from '../types';
import {
  auditCursor,
  decodeAuditCursor,
  decodeDeliveryCursor,
  decodeEventCursor,
  deliveryCursor,
  type EventKey,
  eventCursor,
} from './cursor';
import { deliveryIdFloor } from './delivery-id-floor';
import { toAuditEntry, toDelivery, toEvent } from './from-rows';
import type { AuditLogRow, DeliveryRow, EventRow } from './rows';

/*
 * Keyset-paginated admin listings, newest first, for every backend: what each page reads (a plan:
 * filters, where it starts, how many rows) and how a page is made of the rows. Each backend turns
 * a plan into its own SQL (sqlite/listings.ts, postgres/listings.ts). Both schemas have the same
 * indexes, and the plans are shaped for them. Every page reads limit + 1 rows to know whether
 * more exist.
 */

/** Rows per page: the Store contract says 1..500; anything else is clamped rather than trusted. */
export const MAX_PAGE_SIZE = 500;

const ALL_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled'];

/** One page of events by (created_at DESC, seq DESC), on `events_type` or `events_created`. */
export interface EventListingPlan {
  type: string | undefined;
  /** A tenant's events (on `events_tenant`); null: those without one; undefined: every one. */
  tenant: string | null | undefined;
  since: number | undefined;
  /** The query's `until`, unless the cursor bounds the range tighter (then undefined). */
  until: number | undefined;
  /** Rows strictly before this key. */
  after: EventKey | undefined;
  /**
   * The cursor's created_at is the upper bound of the range walked (`created_at <= …` besides the
   * row comparison), so a later page never re-walks the rows of earlier pages.
   */
  afterBoundsRange: boolean;
  limit: number;
}

/** The plan of one events page. */
export function planEventListing(query: EventQuery, after: EventKey | null, limit: number): EventListingPlan {
  // The tighter upper bound becomes the index range: the cursor's, unless `until` is below it
  // (the filter changed between pages).
  const afterBoundsRange = after !== null && (query.until === undefined || after.createdAt < query.until);
  return {
    type: query.type,
    tenant: query.tenant,
    since: query.since,
    until: afterBoundsRange ? undefined : query.until,
    after: after ?? undefined,
    afterBoundsRange,
    limit,
  };
}

/** One page of deliveries by id DESC. */
export interface DeliveryListingPlan {
  subscriptionId: string | undefined;
  /** Only deliveries to one of these subscriptions; undefined: any. */
  subscriptionIn: readonly string[] | undefined;
  /** Deliveries of a tenant's events; null: of events without one; undefined: every one. */
  tenant: string | null | undefined;
  status: DeliveryStatus | undefined;
  eventType: string | undefined;
  since: number | undefined;
  /** Lowest id a delivery created at `since` can have (deliveryIdFloor): bounds the walk, created_at decides. */
  sinceId: string | undefined;
  until: number | undefined;
  /** Ids strictly below this one. */
  after: string | undefined;
  limit: number;
  /** The index that serves the filters (`deliveries_subscription` needs a status too); undefined: the primary key. */
  index: 'deliveries_subscription' | 'deliveries_tenant' | 'deliveries_status' | 'deliveries_event_type' | undefined;
}

/**
 * A subscription filter needs a status too (`deliveries_subscription` is (subscription_id, status,
 * id)): listDeliveries makes one plan per status and merges the pages.
 */
export function planDeliveryListing(query: DeliveryQuery, after: string | null, limit: number): DeliveryListingPlan {
  if (query.subscriptionId !== undefined && query.status === undefined) {
    throw new Error('planDeliveryListing: a subscription filter needs a status');
  }
  return {
    subscriptionId: query.subscriptionId,
    subscriptionIn: query.subscriptionIn,
    tenant: query.tenant,
    status: query.status,
    eventType: query.eventType,
    since: query.since,
    sinceId: query.since === undefined ? undefined : deliveryIdFloor(query.since),
    until: query.until,
    after: after ?? undefined,
    limit,
    index:
      query.subscriptionId !== undefined
        ? 'deliveries_subscription'
        : query.tenant !== undefined
          ? 'deliveries_tenant'
          : query.status !== undefined
            ? 'deliveries_status'
            : query.eventType !== undefined
              ? 'deliveries_event_type'
              : undefined,
  };
}

/** One page of audit entries by seq DESC. */
export interface AuditListingPlan {
  after: number | undefined;
  limit: number;
}

/** How a backend reads the rows of one plan. */
export interface ListingReader {
  events(plan: EventListingPlan): Promise<EventRowWithSeq[]> | EventRowWithSeq[];
  deliveries(plan: DeliveryListingPlan): Promise<DeliveryRow[]> | DeliveryRow[];
  audit(plan: AuditListingPlan): Promise<Selectable<AuditLogRow>[]> | Selectable<AuditLogRow>[];
}

/** An event row as a listing reads it. */
export type EventRowWithSeq = Selectable<EventRow>;

/** The three listings over a backend's reader. They throw InvalidCursorError for a cursor they did not make. */
export function listingsOver(read: ListingReader) {
  return {
    async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
      const after = query.cursor === undefined ? null : decodeEventCursor(query.cursor);
      const size = pageSize(query.limit);
      const rows = await read.events(planEventListing(query, after, size + 1));
      return page(rows, size, toEvent, (row) => eventCursor({ createdAt: row.created_at, seq: row.seq }));
    },

    async listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryWithEventType>> {
      const after = query.cursor === undefined ? null : decodeDeliveryCursor(query.cursor);
      const size = pageSize(query.limit);
      const statuses = query.status !== undefined || query.subscriptionId === undefined ? [query.status] : ALL_STATUSES;
      let rows: DeliveryRow[] = [];
      for (const status of statuses) rows.push(...(await read.deliveries(planDeliveryListing({ ...query, status }, after, size + 1))));
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
      const after = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor);
      const size = pageSize(query.limit);
      const rows = await read.audit({ after, limit: size + 1 });
      return page(rows, size, toAuditEntry, (row) => auditCursor(row.seq));
    },
  };
}

/** The listings of one store. */
export type Listings = ReturnType<typeof listingsOver>;

/** One page of `size` rows made from `size + 1` read (the extra one says whether more exist). */
export function page<R, T>(rows: R[], size: number, map: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const data = rows.slice(0, size);
  const last = data[data.length - 1];
  return { data: data.map(map), nextCursor: rows.length > size && last !== undefined ? cursorOf(last) : null };
}

/** A requested page size clamped to 1..MAX_PAGE_SIZE. */
export function pageSize(limit: number): number {
  const n = Math.floor(limit);
  return Number.isFinite(n) ? Math.min(Math.max(n, 1), MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
}
