import { type AuditListingPlan, type DeliveryListingPlan, type EventListingPlan, listingsOver } from '../sql/listing-plan';
import type { Runner } from './run';
import { where } from '../sql/where';

/*
 * The admin listings' SQL in Postgres (the plans are shared: sql/listing-plan.ts). The schema has
 * the same indexes as SQLite's; the planner picks them from the filters and ORDER BY.
 */

type Params = Record<string, string | number | string[]>;

/** One listing query: SQL with named parameters. */
interface ListingSql {
  sql: string;
  params: Params;
}

function eventSql(plan: EventListingPlan): ListingSql {
  const w = where<string | number | string[]>({ limit: plan.limit });
  w.add('type = @type', 'type', plan.type);
  w.tenant(plan.tenant);
  w.add('created_at >= @since', 'since', plan.since);
  w.add('created_at < @until', 'until', plan.until);
  if (plan.after !== undefined) {
    if (plan.afterBoundsRange) w.terms.push('created_at <= @afterCreatedAt');
    w.terms.push('(created_at, seq) < (@afterCreatedAt, @afterSeq)');
    Object.assign(w.params, { afterCreatedAt: plan.after.createdAt, afterSeq: plan.after.seq });
  }
  return {
    sql: `SELECT seq, id, type, data, created_at, delivery_count, tenant, test FROM events
      ${w.clause()} ORDER BY created_at DESC, seq DESC LIMIT @limit`,
    params: w.params,
  };
}

function deliverySql(plan: DeliveryListingPlan): ListingSql {
  const w = where<string | number | string[]>({ limit: plan.limit });
  w.add('subscription_id = @subscriptionId', 'subscriptionId', plan.subscriptionId);
  if (plan.subscriptionIn !== undefined) {
    w.terms.push('subscription_id = ANY(@subscriptionIn)');
    w.params.subscriptionIn = [...plan.subscriptionIn];
  }
  w.tenant(plan.tenant);
  w.add('status = @status', 'status', plan.status);
  w.add('event_type = @eventType', 'eventType', plan.eventType);
  w.add('created_at >= @since', 'since', plan.since);
  w.add('id >= @sinceId', 'sinceId', plan.sinceId);
  w.add('created_at < @until', 'until', plan.until);
  w.add('id < @after', 'after', plan.after);
  return { sql: `SELECT * FROM deliveries ${w.clause()} ORDER BY id DESC LIMIT @limit`, params: w.params };
}

function auditSql(plan: AuditListingPlan): ListingSql {
  const w = where<string | number | string[]>({ limit: plan.limit });
  w.add('seq < @after', 'after', plan.after);
  return { sql: `SELECT * FROM audit_log ${w.clause()} ORDER BY seq DESC LIMIT @limit`, params: w.params };
}

/** The listings over the store's pool. */
export function createListings(run: Runner) {
  const all = <R>({ sql, params }: ListingSql) => run.rows<R>(sql, params);
  return listingsOver({
    events: (plan) => all(eventSql(plan)),
    deliveries: (plan) => all(deliverySql(plan)),
    audit: (plan) => all(auditSql(plan)),
  });
}
