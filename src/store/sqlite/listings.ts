import type Database from 'better-sqlite3';
import {
  type AuditListingPlan,
  type DeliveryListingPlan,
  type EventListingPlan,
  listingsOver,
  planDeliveryListing,
  planEventListing,
} from '../sql/listing-plan';
import type { EventKey } from '../sql/cursor';
import type { DeliveryQuery, EventQuery } from '../types';
import { where } from '../sql/where';
import type { DeliveryRow } from '../sql/rows';
import type { Leases } from './leases';

/*
 * The admin listings' SQL in SQLite (the plans are shared: sql/listing-plan.ts). Plain SQL rather
 * than Kysely so each shape can pin its index with INDEXED BY: without statistics the planner
 * happily walks `deliveries_status` for a subscription filter (thinking an id range is as good),
 * and a missing index must fail loudly rather than turn a page into a scan. The SQL builders are
 * exported so tests can EXPLAIN every shape.
 */

type Params = Record<string, string | number>;

/** One listing query: SQL with named parameters. */
export interface ListingSql {
  sql: string;
  params: Params;
}

/** Events by (created_at DESC, seq DESC); `events_type` or `events_created`, both ending in the rowid. */
export function eventListingSql(query: EventQuery, after: EventKey | null, limit: number): ListingSql {
  return eventSql(planEventListing(query, after, limit));
}

/**
 * Deliveries by id DESC; a subscription filter needs a status too (see planDeliveryListing). `held`:
 * the ids leased in memory (leases.ts), a JSON array: they list as `delivering`, not as the
 * `pending` or `retrying` their rows still say.
 */
export function deliveryListingSql(query: DeliveryQuery, after: string | null, limit: number, held = '[]'): ListingSql {
  return deliverySql(planDeliveryListing(query, after, limit), held);
}

/** Audit entries by seq DESC (the rowid). */
export function auditListingSql(after: number | null, limit: number): ListingSql {
  return auditSql({ after: after ?? undefined, limit });
}

function eventSql(plan: EventListingPlan): ListingSql {
  const w = where({ limit: plan.limit });
  w.add('type = @type', 'type', plan.type);
  w.tenant(plan.tenant);
  w.add('created_at >= @since', 'since', plan.since);
  w.add('created_at < @until', 'until', plan.until);
  if (plan.after !== undefined) {
    if (plan.afterBoundsRange) w.terms.push('created_at <= @afterCreatedAt');
    w.terms.push('(created_at, seq) < (@afterCreatedAt, @afterSeq)');
    Object.assign(w.params, { afterCreatedAt: plan.after.createdAt, afterSeq: plan.after.seq });
  }
  const index = plan.tenant !== undefined ? 'events_tenant' : plan.type !== undefined ? 'events_type' : 'events_created';
  return {
    sql: `SELECT seq, id, type, data, created_at, delivery_count, tenant FROM events INDEXED BY ${index}
      ${w.clause()} ORDER BY created_at DESC, seq DESC LIMIT @limit`,
    params: w.params,
  };
}

function deliverySql(plan: DeliveryListingPlan, held: string): ListingSql {
  const w = where({ limit: plan.limit });
  w.add('subscription_id = @subscriptionId', 'subscriptionId', plan.subscriptionId);
  // One JSON array parameter, so any number of ids shares one prepared statement.
  const within = plan.subscriptionIn === undefined ? undefined : JSON.stringify(plan.subscriptionIn);
  w.add('subscription_id IN (SELECT value FROM json_each(@subscriptionIn))', 'subscriptionIn', within);
  w.tenant(plan.tenant);
  let index: string | undefined = plan.index;
  if (plan.status === 'delivering') {
    // No row says `delivering`: those are the leased ids, read by primary key (a few hundred at most).
    w.add('id IN (SELECT value FROM json_each(@held))', 'held', held);
    index = 'sqlite_autoindex_deliveries_1';
  } else {
    w.add('status = @status', 'status', plan.status);
    if (plan.status === 'pending' || plan.status === 'retrying') w.add('id NOT IN (SELECT value FROM json_each(@held))', 'held', held);
  }
  w.add('event_type = @eventType', 'eventType', plan.eventType);
  w.add('created_at >= @since', 'since', plan.since);
  w.add('id >= @sinceId', 'sinceId', plan.sinceId);
  w.add('created_at < @until', 'until', plan.until);
  w.add('id < @after', 'after', plan.after);
  return {
    sql: `SELECT * FROM deliveries${index === undefined ? '' : ` INDEXED BY ${index}`}
      ${w.clause()} ORDER BY id DESC LIMIT @limit`,
    params: w.params,
  };
}

function auditSql(plan: AuditListingPlan): ListingSql {
  const w = where({ limit: plan.limit });
  w.add('seq < @after', 'after', plan.after);
  return { sql: `SELECT * FROM audit_log ${w.clause()} ORDER BY seq DESC LIMIT @limit`, params: w.params };
}

/**
 * The listings over one connection; statements are prepared per query shape and kept. Deliveries
 * leased in memory are shown as `delivering` (leases.ts).
 */
export function createListings(db: Database.Database, leases: Leases) {
  const statements = new Map<string, Database.Statement<[Params]>>();
  const all = <R>({ sql, params }: ListingSql): R[] => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare<[Params]>(sql);
      statements.set(sql, statement);
    }
    return statement.all(params) as R[];
  };
  return listingsOver({
    events: (plan) => all(eventSql(plan)),
    deliveries: (plan) => all<DeliveryRow>(deliverySql(plan, leases.heldJson())).map((row) => leases.overlay(row)),
    audit: (plan) => all(auditSql(plan)),
  });
}
