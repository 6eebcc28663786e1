import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The first schema. Times are INTEGER epoch milliseconds; JSON is TEXT. Tables are STRICT so a
 * wrong type is an error at write time instead of a surprise at read time.
 *
 * Pagination for the admin API: delivery and attempt ids are ULIDs (they sort by time), so
 * deliveries page by `id`. Event ids may be chosen by the caller and need not sort, so events
 * page by `(created_at, seq)`; every events index ends with the rowid `seq` implicitly.
 */
const statements = [
  `CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivery_count INTEGER NOT NULL
  ) STRICT`,

  `CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL
      CHECK (status IN ('pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`,

  `CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    request_url TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    error TEXT
  ) STRICT`,

  `CREATE TABLE subscription_state (
    id TEXT PRIMARY KEY,
    enabled INTEGER CHECK (enabled IN (0, 1)),
    disabled_reason TEXT,
    last_success_at INTEGER,
    last_failure_at INTEGER,
    failure_streak INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  ) STRICT`,

  // Claims and nextDueAt. Queries must repeat this exact WHERE for SQLite to use the index;
  // `id` is last so "ORDER BY next_attempt_at, id LIMIT n" needs no sort.
  `CREATE INDEX deliveries_due ON deliveries (subscription_id, next_attempt_at, id)
    WHERE status IN ('pending', 'retrying')`,
  // rescueExpired: only leased rows, so the index stays as small as the work in flight.
  `CREATE INDEX deliveries_lease ON deliveries (lease_expires_at) WHERE status = 'delivering'`,
  // An event's deliveries; also what ON DELETE CASCADE from events searches.
  `CREATE INDEX deliveries_event ON deliveries (event_id)`,
  // Admin listings and counts: by status, and by subscription then status, both paged by id.
  `CREATE INDEX deliveries_status ON deliveries (status, id)`,
  `CREATE INDEX deliveries_subscription ON deliveries (subscription_id, status, id)`,
  `CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt)`,
  `CREATE INDEX events_type ON events (type, created_at)`,
  `CREATE INDEX events_created ON events (created_at)`,
];

/** Creates the tables of SPEC sections 3, 4 and 8: events, deliveries, attempts, subscription state. */
export const init: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['attempts', 'deliveries', 'events', 'subscription_state']) {
      await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
    }
  },
};
