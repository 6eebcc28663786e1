import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The Postgres schema: the same tables, columns and row shapes as the SQLite store's after its
 * migrations (src/store/sql/rows.ts), so both backends read rows alike. Times are BIGINT
 * epoch milliseconds (read back as numbers: see connect.ts); JSON is TEXT, as in SQLite;
 * subscription_state.enabled is SMALLINT 0/1/NULL, as in SQLite. Indexes serve the same queries;
 * Postgres has partial indexes too.
 */
const statements = [
  `CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    type TEXT COLLATE "C" NOT NULL,
    data TEXT COLLATE "C" NOT NULL,
    content_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    delivery_count INTEGER NOT NULL
  )`,
  `CREATE TABLE deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription_id TEXT COLLATE "C" NOT NULL,
    event_type TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL
      CHECK (status IN ('pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner TEXT COLLATE "C",
    lease_expires_at BIGINT,
    last_status_code INTEGER,
    last_error TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE TABLE attempts (
    id TEXT COLLATE "C" PRIMARY KEY,
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    request_url TEXT COLLATE "C" NOT NULL,
    request_headers TEXT COLLATE "C" NOT NULL,
    response_status INTEGER,
    response_headers TEXT COLLATE "C",
    response_body TEXT COLLATE "C",
    error TEXT COLLATE "C"
  )`,
  `CREATE TABLE subscription_state (
    id TEXT COLLATE "C" PRIMARY KEY,
    enabled SMALLINT CHECK (enabled IN (0, 1)),
    disabled_reason TEXT COLLATE "C",
    last_success_at BIGINT,
    last_failure_at BIGINT,
    failure_streak INTEGER NOT NULL DEFAULT 0,
    failing_since BIGINT,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE TABLE api_subscriptions (
    id TEXT COLLATE "C" PRIMARY KEY,
    spec TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C",
    details TEXT COLLATE "C" NOT NULL
  )`,
  // Claims (FOR UPDATE SKIP LOCKED over this order) and the next due time.
  `CREATE INDEX deliveries_due ON deliveries (subscription_id, next_attempt_at, id) WHERE status IN ('pending', 'retrying')`,
  // Expired leases, whoever held them.
  `CREATE INDEX deliveries_lease ON deliveries (lease_expires_at) WHERE status = 'delivering'`,
  `CREATE INDEX deliveries_event ON deliveries (event_id)`,
  `CREATE INDEX deliveries_status ON deliveries (status, id)`,
  `CREATE INDEX deliveries_subscription ON deliveries (subscription_id, status, id)`,
  `CREATE INDEX deliveries_event_type ON deliveries (event_type, id)`,
  `CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt)`,
  `CREATE INDEX events_type ON events (type, created_at, seq)`,
  `CREATE INDEX events_created ON events (created_at, seq)`,
];

/** The whole schema of the Postgres store. */
export const init: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['attempts', 'deliveries', 'events', 'subscription_state', 'api_subscriptions', 'audit_log']) {
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
    }
  },
};
