import type { Generated } from 'kysely';
import type { DeliveryStatus } from '../types';

/* Row shapes of the SQLite tables (migrations/sqlite), as better-sqlite3 returns them. */

export interface EventRow {
  seq: Generated<number>;
  id: string;
  type: string;
  data: string;
  content_hash: string;
  created_at: number;
  delivery_count: number;
}

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
}

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

export interface SubscriptionStateRow {
  id: string;
  /** 0, 1, or null (follow the config). */
  enabled: number | null;
  disabled_reason: string | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  failure_streak: number;
  updated_at: number;
}

/** The database as Kysely sees it. */
export interface SqliteSchema {
  events: EventRow;
  deliveries: DeliveryRow;
  attempts: AttemptRow;
  subscription_state: SubscriptionStateRow;
}
