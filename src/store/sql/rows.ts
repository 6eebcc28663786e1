import type { Generated } from 'kysely';
import type { DeliveryStatus } from '../types';

/*
 * Row shapes of the tables, the same in both backends (migrations/sqlite and migrations/postgres
 * keep them identical): what better-sqlite3 returns, and what pg returns with BIGINT read as
 * numbers (postgres/connect.ts).
 */

/** A row of `events`. */
export interface EventRow {
  seq: Generated<number>;
  id: string;
  type: string;
  data: string;
  content_hash: string;
  created_at: number;
  delivery_count: number;
  /** The event's tenant, or null (migrations sqlite/0005, postgres/0004). */
  tenant: string | null;
  /** 1 for a test or example event (SPEC 5; migrations sqlite/0010, postgres/0009), else 0. */
  test: Generated<number>;
}

/** A row of `deliveries`. */
export interface DeliveryRow {
  id: string;
  event_id: string;
  subscription_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  /** Copy of the event's type (migration 0002), for listings filtered by it. */
  event_type: string;
  /** Copy of the event's tenant, or null. */
  tenant: string | null;
}

/** A row of `attempts`. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  request_url: string;
  /** JSON object of header name to value. */
  request_headers: string;
  response_status: number | null;
  /** JSON object, or null when no answer came. */
  response_headers: string | null;
  response_body: string | null;
  error: string | null;
}

/** A row of `subscription_state`: run-time state of a subscription. */
export interface SubscriptionStateRow {
  id: string;
  /** 0, 1, or null (follow the config); SMALLINT in Postgres. */
  enabled: number | null;
  disabled_reason: string | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  failure_streak: number;
  updated_at: number;
  /** Start of the current run of failures, null after a success (migration 0003). */
  failing_since: number | null;
}

/** A row of `api_subscriptions`. */
export interface ApiSubscriptionRow {
  id: string;
  /** JSON object: the subscription as accepted by the admin API. */
  spec: string;
  created_at: number;
  updated_at: number;
  /** The owning tenant, or null (platform). */
  tenant: string | null;
}

/** A row of `tenants`. */
export interface TenantRow {
  id: string;
  name: string | null;
  /** JSON object, or null. */
  metadata: string | null;
  /** 0 or 1 (SMALLINT in Postgres). */
  enabled: number;
  max_subscriptions: number | null;
  ingest_rate: string | null;
  state: 'active' | 'erasing';
  created_at: number;
  updated_at: number;
}

/** A row of `audit_log`. */
export interface AuditLogRow {
  seq: Generated<number>;
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  /** JSON object. */
  details: string;
}

/** A row of `subscription_changes` (migrations sqlite/0004, postgres/0003). */
export interface SubscriptionChangeRow {
  seq: Generated<number>;
  subscription_id: string;
  changed_at: number;
}

/** A waiting delivery with its event, as a claim reads it. */
export interface DueRow {
  id: string;
  subscription_id: string;
  attempts: number;
  event_id: string;
  event_type: string;
  event_data: string;
  event_created_at: number;
  /** The delivery's copy of its event's tenant. */
  event_tenant: string | null;
  /** The event's test flag (1 or 0). */
  event_test: number;
}

/** A waiting delivery read by a claim, due or not: the first one not leased tells when more is due. */
export interface WindowRow extends DueRow {
  next_attempt_at: number;
}

/** The head of a fifo subscription (its oldest unfinished delivery), with its event. */
export interface HeadRow extends DueRow {
  status: DeliveryStatus;
  next_attempt_at: number | null;
}

/** The database as Kysely sees it. */
export interface StoreSchema {
  events: EventRow;
  deliveries: DeliveryRow;
  attempts: AttemptRow;
  subscription_state: SubscriptionStateRow;
  api_subscriptions: ApiSubscriptionRow;
  audit_log: AuditLogRow;
  subscription_changes: SubscriptionChangeRow;
  tenants: TenantRow;
}
